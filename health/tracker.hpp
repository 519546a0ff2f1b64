#pragma once

// The rise/fall rule for one server, apart from any clock or socket: it counts results.
namespace fulcrum::health {

// A server starts UP but unconfirmed: its first check result decides at once (a failure takes
// it DOWN, a pass confirms it), after which `fall` consecutive failures take it DOWN and `rise`
// consecutive passes bring it back. docs/health-checks.md, "Start-up", says why.
class tracker {
public:
    enum class change { none, went_up, went_down };

    tracker(unsigned rise, unsigned fall) : rise_(rise), fall_(fall) {}

    change record(bool ok);
    // Passive observation took the server DOWN: `rise` passes bring it back.
    void force_down();

    bool up() const { return up_; }
    // False until the first result (or force_down).
    bool confirmed() const { return confirmed_; }
    // How many results in a row were the same as the last one.
    unsigned streak() const { return streak_; }

private:
    unsigned rise_;
    unsigned fall_;
    bool up_ = true;
    bool confirmed_ = false;
    bool last_ok_ = true;
    unsigned streak_ = 0;
};

} // namespace fulcrum::health
