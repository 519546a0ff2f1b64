#include "sli/state_file.hpp"

#include <boost/crc.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using fulcrum::sli::state_file;
using fulcrum::sli::window;
using fulcrum::sli::window_counter;
using outcome = state_file::load_result::outcome;
using namespace std::chrono_literals;

const fulcrum::sli::wall_clock::time_point t0{std::chrono::seconds(1'700'006'400)};

class state_dir : public ::testing::Test {
protected:
    state_dir() {
        std::string pattern = (fs::temp_directory_path() / "fulcrum-state-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = pattern;
    }
    ~state_dir() override { fs::remove_all(dir_); }

    fs::path file() const { return dir_ / "sli.state"; }

    std::string read() const {
        std::ifstream in(file(), std::ios::binary);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }
    void write(const std::string& text) const {
        std::ofstream out(file(), std::ios::binary | std::ios::trunc);
        out << text;
    }
    // A file with a valid checksum around `body`, as a fulcrum with a bug might write it.
    void write_signed(const std::string& body) const {
        boost::crc_32_type crc;
        crc.process_bytes(body.data(), body.size());
        char line[32];
        std::snprintf(line, sizeof line, "crc32 %08x\n", crc.checksum());
        write(body + line);
    }
    std::vector<fs::path> set_aside() const {
        std::vector<fs::path> out;
        for (const auto& e : fs::directory_iterator(dir_)) {
            if (e.path().filename().string().starts_with("sli.state.corrupt-")) {
                out.push_back(e.path());
            }
        }
        return out;
    }

    // Two services and a backend, with traffic over the last day before t0 + 1h.
    void fill(window_counter& web, window_counter& api, window_counter& backend) const {
        web.add(t0 - 20h, 90, 100);
        web.add(t0, 9, 10);
        web.add(t0 + 59min, 1, 1);
        api.add(t0 + 30min, 4, 7);
        for (int s = 0; s < 3600; ++s) {
            backend.add(t0 + std::chrono::seconds(s), s < 60 ? 1 : 2, 2);
        }
    }

    static void expect_same(const window_counter& a, const window_counter& b,
                            fulcrum::sli::wall_clock::time_point at) {
        for (window w : fulcrum::sli::all_windows) {
            EXPECT_EQ(a.over(w, at).total, b.over(w, at).total) << fulcrum::sli::name(w);
            EXPECT_EQ(a.over(w, at).good, b.over(w, at).good) << fulcrum::sli::name(w);
        }
    }

    static void expect_empty(const window_counter& c, fulcrum::sli::wall_clock::time_point at) {
        for (window w : fulcrum::sli::all_windows) {
            EXPECT_EQ(c.over(w, at).total, 0u) << fulcrum::sli::name(w);
        }
    }

    // Loads into counters registered as the services web and api.
    state_file::load_result load(window_counter& web, window_counter& api,
                                 fulcrum::sli::wall_clock::time_point at) const {
        state_file f(dir_);
        f.add("service/web/availability", web);
        f.add("service/api/availability", api);
        return f.load(at);
    }

    // Saves filled counters at t0 + 1h.
    void save_filled() const {
        window_counter web, api, backend;
        fill(web, api, backend);
        state_file f(dir_);
        f.add("service/web/availability", web);
        f.add("service/api/availability", api);
        f.add("backend/app_pool/availability", backend);
        ASSERT_EQ(f.save(t0 + 1h), std::nullopt);
    }

    fs::path dir_;
};

TEST_F(state_dir, counters_saved_and_loaded_after_a_restart_have_the_same_counts) {
    save_filled();
    window_counter web, api, backend;
    state_file f(dir_);
    f.add("service/web/availability", web);
    f.add("service/api/availability", api);
    f.add("backend/app_pool/availability", backend);
    const auto result = f.load(t0 + 1h + 10s);
    EXPECT_EQ(result.what, outcome::loaded);
    EXPECT_EQ(result.message, "SLI windows loaded from " + file().string() +
                                  " (saved 2023-11-15T01:00:00Z): 3 restored, 0 new (empty), 0 "
                                  "no longer configured (dropped)");

    window_counter web0, api0, backend0;
    fill(web0, api0, backend0);
    for (const auto at : {t0 + 1h + 10s, t0 + 5h, t0 + 48h}) {
        expect_same(web, web0, at);
        expect_same(api, api0, at);
        expect_same(backend, backend0, at);
    }
    EXPECT_EQ(web.over(window::d1, t0 + 1h + 10s).total, 111u);
    EXPECT_EQ(web.over(window::h1, t0 + 1h + 10s).good, 1u);
    EXPECT_EQ(backend.over(window::h2, t0 + 1h).good, 7140u);
    // Counting goes on where it stopped.
    web.add(t0 + 1h + 10s, 0, 1);
    EXPECT_EQ(web.over(window::d1, t0 + 1h + 10s).total, 112u);
    EXPECT_TRUE(set_aside().empty());
}

TEST_F(state_dir, the_file_is_text_with_a_header_and_a_checksum_line) {
    save_filled();
    const auto text = read();
    EXPECT_TRUE(text.starts_with("fulcrum-sli-state 1\nsaved 1700010000\n"
                                 "counter service/web/availability\n"))
        << text;
    EXPECT_NE(text.find("\n30d 39350 90 100\n30d 39352 10 11\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\ncrc32 "), std::string::npos);
    EXPECT_FALSE(fs::exists(dir_ / "sli.state.tmp"));
}

TEST_F(state_dir, a_missing_file_starts_empty_with_one_line) {
    window_counter web;
    state_file f(dir_);
    f.add("service/web/availability", web);
    const auto result = f.load(t0);
    EXPECT_EQ(result.what, outcome::missing);
    EXPECT_EQ(result.message, "no state file " + file().string() + ", starting with empty windows");
    expect_empty(web, t0);
}

TEST_F(state_dir, a_truncated_file_restores_nothing_and_is_set_aside) {
    save_filled();
    const auto whole = read();
    // Cut in the middle: the first counters are intact, but nothing may be half loaded.
    write(whole.substr(0, whole.size() / 2));
    window_counter web, api;
    const auto result = load(web, api, t0 + 1h);
    EXPECT_EQ(result.what, outcome::set_aside);
    const auto aside = dir_ / "sli.state.corrupt-20231115T010000Z";
    EXPECT_EQ(result.message, "state file " + file().string() +
                                  " is truncated or damaged (its last line is not a checksum); "
                                  "set aside as " +
                                  aside.string() + ", starting with empty windows");
    expect_empty(web, t0 + 1h);
    expect_empty(api, t0 + 1h);
    EXPECT_FALSE(fs::exists(file()));
    EXPECT_EQ(set_aside(), std::vector<fs::path>{aside});
    // The next save writes a good file again.
    web.add(t0 + 1h, 1, 1);
    state_file f(dir_);
    f.add("service/web/availability", web);
    EXPECT_EQ(f.save(t0 + 1h), std::nullopt);
    window_counter again, unused;
    EXPECT_EQ(load(again, unused, t0 + 1h).what, outcome::loaded);
    EXPECT_EQ(again.over(window::m5, t0 + 1h).total, 1u);
}

TEST_F(state_dir, a_flipped_byte_is_caught_by_the_checksum) {
    save_filled();
    auto text = read();
    const auto at = text.find("\n30d 39350 90 100\n");
    ASSERT_NE(at, std::string::npos);
    text[at + 11] = '1'; // 90 good become 10
    write(text);
    window_counter web, api;
    const auto result = load(web, api, t0 + 1h);
    EXPECT_EQ(result.what, outcome::set_aside);
    EXPECT_NE(result.message.find(" is corrupt (CRC-32 "), std::string::npos) << result.message;
    expect_empty(web, t0 + 1h);
    EXPECT_EQ(set_aside().size(), 1u);
}

TEST_F(state_dir, another_format_version_is_set_aside) {
    save_filled();
    auto text = read();
    text.replace(0, 19, "fulcrum-sli-state 2");
    write(text);
    window_counter web, api;
    const auto result = load(web, api, t0 + 1h);
    EXPECT_EQ(result.what, outcome::set_aside);
    EXPECT_NE(result.message.find(" has format version 2, this fulcrum reads version 1; set aside"),
              std::string::npos)
        << result.message;
    expect_empty(web, t0 + 1h);

    write("some other file\n");
    EXPECT_NE(load(web, api, t0 + 1h).message.find(" is not a fulcrum state file"),
              std::string::npos);
    write("");
    EXPECT_NE(load(web, api, t0 + 1h).message.find(" is empty;"), std::string::npos);
    // Three files set aside within the same second keep distinct names.
    EXPECT_EQ(set_aside().size(), 3u);
}

TEST_F(state_dir, a_bad_line_under_a_valid_checksum_restores_nothing) {
    write_signed("fulcrum-sli-state 1\nsaved 1700010000\n"
                 "counter service/web/availability\n5m 340001280 1 1\n"
                 "counter service/api/availability\n5m 340001280 2 1\n");
    window_counter web, api;
    const auto result = load(web, api, t0 + 1h);
    EXPECT_EQ(result.what, outcome::set_aside);
    EXPECT_NE(result.message.find(
                  " has a bad line 6 (more good than total): '5m 340001280 2 1'; set aside"),
              std::string::npos)
        << result.message;
    expect_empty(web, t0 + 1h);
}

TEST_F(state_dir, values_out_of_range_under_a_valid_checksum_are_set_aside) {
    const std::string head = "fulcrum-sli-state 1\n";
    const std::string saved = "saved 1700010000\n";
    const std::string counter = "counter service/web/availability\n";
    const struct {
        std::string body;
        std::string why;
    } cases[] = {
        // Past what the wall clock holds: undefined behaviour on the way in, before this check.
        {head + "saved 9223372036854775807\n" + counter + "5m 340001280 1 1\n",
         "has a bad line 2 (saved time out of range): 'saved 9223372036854775807'"},
        {head + "saved -1\n" + counter, "has a bad line 2 (saved time out of range): 'saved -1'"},
        {head + saved + counter + "30d 9223372036854775807 1 1\n",
         "has a bad line 4 (bucket number out of range): '30d 9223372036854775807 1 1'"},
        {head + saved + counter + "5m -3 1 1\n",
         "has a bad line 4 (bucket number out of range): '5m -3 1 1'"},
        // Sums of such buckets would wrap around to small totals.
        {head + saved + counter + "5m 340001280 1 18446744073709551615\n",
         "has a bad line 4 (count out of range): '5m 340001280 1 18446744073709551615'"},
        {head + saved + counter + "5m 340001280 1 1\n5m 340001280 1 1\n",
         "has a bad line 5 (the bucket appears twice): '5m 340001280 1 1'"},
        {head + saved + counter + "since -5\n",
         "has a bad line 4 (since time out of range): 'since -5'"},
        {head + saved + "since 1700010000\n" + counter,
         "has a bad line 3 (a 'since' line belongs right after its 'counter' line, once): "
         "'since 1700010000'"},
    };
    for (const auto& c : cases) {
        write_signed(c.body);
        window_counter web, api;
        const auto result = load(web, api, t0 + 1h);
        EXPECT_EQ(result.what, outcome::set_aside) << c.body;
        EXPECT_NE(result.message.find(" " + c.why + "; set aside as "), std::string::npos)
            << result.message;
        expect_empty(web, t0 + 1h);
    }
    EXPECT_EQ(set_aside().size(), std::size(cases));

    // The edges themselves load.
    write_signed(head + "saved 9223372036\n" + counter + "5m 340001280 281474976710656 " +
                 "281474976710656\n");
    window_counter web, api;
    EXPECT_EQ(load(web, api, t0 + 1h).what, outcome::loaded);
}

TEST_F(state_dir, the_time_counting_began_is_kept_across_a_restart) {
    save_filled();
    window_counter web, api;
    ASSERT_EQ(load(web, api, t0 + 1h + 10s).what, outcome::loaded);
    EXPECT_EQ(web.since(), t0 - 20h);
    EXPECT_EQ(web.coverage(window::d30, t0 + 1h + 10s), 21h + 10s);
    EXPECT_EQ(api.coverage(window::h1, t0 + 1h + 10s), 30min + 10s);

    // A file written before `since` was kept loads; coverage then starts with counting.
    write_signed("fulcrum-sli-state 1\nsaved 1700010000\n"
                 "counter service/web/availability\n5m 340001280 1 1\n");
    window_counter older, other;
    ASSERT_EQ(load(older, other, t0 + 1h).what, outcome::loaded);
    EXPECT_EQ(older.since(), std::nullopt);
    older.add(t0 + 1h, 0, 0);
    EXPECT_EQ(older.coverage(window::d30, t0 + 2h), 1h);
}

TEST_F(state_dir, a_renamed_service_starts_empty_and_the_old_name_is_dropped) {
    save_filled();
    window_counter web, storefront;
    state_file f(dir_);
    f.add("service/web/availability", web);
    f.add("service/storefront/availability", storefront);
    const auto result = f.load(t0 + 1h);
    EXPECT_EQ(result.what, outcome::loaded);
    EXPECT_NE(result.message.find(": 1 restored, 1 new (empty), 2 no longer configured (dropped)"),
              std::string::npos)
        << result.message;
    EXPECT_EQ(web.over(window::d1, t0 + 1h).total, 111u);
    expect_empty(storefront, t0 + 1h);
}

TEST_F(state_dir, state_older_than_a_window_does_not_come_back_after_a_long_downtime) {
    save_filled(); // traffic from t0 - 20h to t0 + 1h, saved at t0 + 1h
    window_counter web, backend;
    state_file f(dir_);
    f.add("service/web/availability", web);
    f.add("backend/app_pool/availability", backend);

    // Down for two days: the short windows are empty, the 3d and 30d windows still count.
    const auto two_days = t0 + 1h + 48h;
    ASSERT_EQ(f.load(two_days).what, outcome::loaded);
    for (window w : {window::m5, window::m30, window::h1, window::h2, window::h6, window::d1}) {
        EXPECT_EQ(web.over(w, two_days).total, 0u) << fulcrum::sli::name(w);
        EXPECT_EQ(backend.over(w, two_days).total, 0u) << fulcrum::sli::name(w);
    }
    EXPECT_EQ(web.over(window::d3, two_days).total, 111u);
    EXPECT_EQ(backend.over(window::d30, two_days).total, 7200u);

    // Down for 31 days: nothing is left, and new traffic is counted alone.
    window_counter late;
    state_file g(dir_);
    g.add("service/web/availability", late);
    const auto a_month = t0 + 31 * 24h;
    ASSERT_EQ(g.load(a_month).what, outcome::loaded);
    expect_empty(late, a_month);
    late.add(a_month, 1, 2);
    for (window w : fulcrum::sli::all_windows) {
        EXPECT_EQ(late.over(w, a_month).total, 2u) << fulcrum::sli::name(w);
        EXPECT_EQ(late.over(w, a_month).good, 1u) << fulcrum::sli::name(w);
    }
}

TEST_F(state_dir, a_failed_save_says_why_and_leaves_the_previous_file) {
    save_filled();
    const auto before = read();
    // The temporary file's name taken by a directory: the save cannot create it.
    fs::create_directory(dir_ / "sli.state.tmp");
    window_counter web;
    web.add(t0 + 2h, 1, 1);
    state_file f(dir_);
    f.add("service/web/availability", web);
    EXPECT_EQ(f.save(t0 + 2h),
              "cannot create " + (dir_ / "sli.state.tmp").string() + ": Is a directory");
    EXPECT_EQ(read(), before);

    state_file gone(dir_ / "nope");
    gone.add("service/web/availability", web);
    EXPECT_EQ(gone.save(t0 + 2h), "cannot create " + (dir_ / "nope" / "sli.state.tmp").string() +
                                      ": No such file or directory");
}

TEST_F(state_dir, check_state_dir_says_what_is_wrong) {
    EXPECT_EQ(fulcrum::sli::check_state_dir(dir_), std::nullopt);
    EXPECT_EQ(fulcrum::sli::check_state_dir(dir_ / "nope"),
              "state_dir " + (dir_ / "nope").string() + ": No such file or directory");
    write("x");
    EXPECT_EQ(fulcrum::sli::check_state_dir(file()),
              "state_dir " + file().string() + " is not a directory");
}

} // namespace
