#include "http/http_date.hpp"

#include <array>
#include <cstdio>

namespace ecr::http {

using namespace std::chrono;

namespace {

// Indexed by weekday::c_encoding() (0 = Sunday) and by month - 1.
constexpr std::array<std::string_view, 7> kShortDays = {"Sun", "Mon", "Tue", "Wed",
                                                        "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> kLongDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Reads the grammar's pieces off the front of the text; every read fails
// (returns false) without consuming when the text does not match.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool literal(std::string_view expected) {
    if (!text_.starts_with(expected)) return false;
    text_.remove_prefix(expected.size());
    return true;
  }
  // Exactly `count` digits.
  bool digits(std::size_t count, int& value) {
    if (text_.size() < count) return false;
    int v = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const char c = text_[i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    value = v;
    text_.remove_prefix(count);
    return true;
  }
  // One of `names`; its index.
  template <std::size_t N>
  bool name(const std::array<std::string_view, N>& names, int& index) {
    for (std::size_t i = 0; i < N; ++i) {
      if (text_.starts_with(names[i])) {
        text_.remove_prefix(names[i].size());
        index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool done() const { return text_.empty(); }

 private:
  std::string_view text_;
};

// "hh:mm:ss"
bool time_of_day(Cursor& in, int& h, int& m, int& s) {
  return in.digits(2, h) && in.literal(":") && in.digits(2, m) && in.literal(":") &&
         in.digits(2, s);
}

struct Fields {
  int weekday = -1;  // 0 = Sunday
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

bool imf_fixdate(Cursor in, Fields& f) {
  return in.name(kShortDays, f.weekday) && in.literal(", ") && in.digits(2, f.day) &&
         in.literal(" ") && in.name(kMonths, f.month) && in.literal(" ") && in.digits(4, f.year) &&
         in.literal(" ") && time_of_day(in, f.hour, f.minute, f.second) && in.literal(" GMT") &&
         in.done();
}

bool rfc850_date(Cursor in, Fields& f) {
  int yy = 0;
  if (!(in.name(kLongDays, f.weekday) && in.literal(", ") && in.digits(2, f.day) &&
        in.literal("-") && in.name(kMonths, f.month) && in.literal("-") && in.digits(2, yy) &&
        in.literal(" ") && time_of_day(in, f.hour, f.minute, f.second) && in.literal(" GMT") &&
        in.done())) {
    return false;
  }
  f.year = yy < 70 ? 2000 + yy : 1900 + yy;
  return true;
}

bool asctime_date(Cursor in, Fields& f) {
  if (!(in.name(kShortDays, f.weekday) && in.literal(" ") && in.name(kMonths, f.month) &&
        in.literal(" "))) {
    return false;
  }
  // The day is two digits or a space and one digit.
  if (!(in.literal(" ") ? in.digits(1, f.day) : in.digits(2, f.day))) return false;
  return in.literal(" ") && time_of_day(in, f.hour, f.minute, f.second) && in.literal(" ") &&
         in.digits(4, f.year) && in.done();
}

std::string_view trim_header_whitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string format_http_date(system_clock::time_point time) {
  const auto secs = floor<seconds>(time);
  const auto midnight = floor<days>(secs);
  const year_month_day ymd{midnight};
  const hh_mm_ss hms{secs - midnight};
  const weekday wd{midnight};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT",
                kShortDays[wd.c_encoding()].data(), static_cast<unsigned>(ymd.day()),
                kMonths[static_cast<unsigned>(ymd.month()) - 1].data(),
                static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<system_clock::time_point> parse_http_date(std::string_view text) {
  const Cursor in(trim_header_whitespace(text));
  Fields f;
  if (!imf_fixdate(in, f) && !rfc850_date(in, f) && !asctime_date(in, f)) return std::nullopt;
  if (f.year < kMinHttpDateYear || f.year > kMaxHttpDateYear) return std::nullopt;
  const year_month_day ymd{year{f.year}, month{static_cast<unsigned>(f.month + 1)},
                           day{static_cast<unsigned>(f.day)}};
  if (!ymd.ok() || f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
  const sys_days date{ymd};
  // A day name that is not the date's own: the header is not what it claims.
  if (weekday{date}.c_encoding() != static_cast<unsigned>(f.weekday)) return std::nullopt;
  return date + hours{f.hour} + minutes{f.minute} + seconds{f.second};
}

}  // namespace ecr::http
