#include "health/tracker.hpp"

namespace fulcrum::health {

tracker::change tracker::record(bool ok) {
    streak_ = (streak_ > 0 && ok == last_ok_) ? streak_ + 1 : 1;
    last_ok_ = ok;
    if (!confirmed_) {
        confirmed_ = true;
        if (!ok) {
            up_ = false;
            return change::went_down;
        }
        return change::none;
    }
    if (ok && !up_ && streak_ >= rise_) {
        up_ = true;
        return change::went_up;
    }
    if (!ok && up_ && streak_ >= fall_) {
        up_ = false;
        return change::went_down;
    }
    return change::none;
}

void tracker::force_down() {
    up_ = false;
    confirmed_ = true;
    // Passes before the passive observation do not count towards bringing it back.
    streak_ = 0;
}

} // namespace fulcrum::health
