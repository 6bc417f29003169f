// The model's patterns, matched in time linear in the value.
//
// std::regex backtracks: a pattern with a repetition inside a repetition,
// as several of the model's have (ScanningRepositoryFilterValue's
// "^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$", RepositoryName's
// "(\.|_|__|-+)" inside "(...)*"), takes time exponential in the length of a
// value that almost matches. The fuzzer found a request that held one of
// ecr-local's handler threads for over 20 minutes that way. Here a pattern is
// compiled into a Thompson NFA and run as a set of states advanced one
// character at a time (Russ Cox, "Regular Expression Matching Can Be Simple
// And Fast"): at most (pattern states) x (value length) steps, no recursion
// over the value, and a yes/no answer is all validation needs.
//
// The grammar is the ECMAScript subset the model's patterns are written in:
// literals and escaped punctuation; . \d \D \w \W \s \S; classes with ranges,
// negation and those escapes; groups ( ) and (?: ); alternation; the
// quantifiers ? * + {n} {n,} {n,m}, greedy or lazy (the same to a whole-value
// match); the assertions ^ and $. Anything else (backreferences, lookaround)
// is refused with std::regex_error when the pattern is compiled.
#include "api/model_pattern.hpp"

#include <bitset>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

namespace ecr::api::model {
namespace {

using CharSet = std::bitset<256>;

// One NFA state. kChar consumes a character in `set`; kSplit goes to `next`
// and `alt` at once; kJump to `next`; kBegin and kEnd hold only at the
// value's start and end; kMatch accepts.
struct State {
  enum Kind { kChar, kSplit, kJump, kBegin, kEnd, kMatch } kind;
  CharSet set;
  int next = -1;
  int alt = -1;
};

State state(State::Kind kind, int next = -1, int alt = -1) { return {kind, CharSet(), next, alt}; }

// The most states one pattern may compile to: counted repetitions copy their
// operand ({1,128} of a class is 256 states), and the model's largest
// pattern needs a few hundred.
constexpr std::size_t kMaxStates = 20000;

CharSet range(unsigned char from, unsigned char to) {
  CharSet s;
  for (unsigned c = from; c <= to; ++c) s.set(c);
  return s;
}

CharSet digits() { return range('0', '9'); }
CharSet word() { return range('a', 'z') | range('A', 'Z') | digits() | range('_', '_'); }
CharSet space() {
  CharSet s;
  for (const char c : {' ', '\t', '\n', '\v', '\f', '\r'}) s.set(static_cast<unsigned char>(c));
  return s;
}

// A fragment of the NFA under construction: its first state, and the exits
// (a state's `next`, or a split's `alt`) still to be pointed at whatever
// follows.
struct Exit {
  int state;
  bool alt;
};
struct Fragment {
  int start = -1;
  std::vector<Exit> exits;
};

struct Program {
  std::vector<State> states;
  int start = -1;
};

class Compiler {
 public:
  explicit Compiler(std::string_view pattern) : p_(pattern) {}

  Program compile() {
    Fragment f = alternation();
    if (at_ < p_.size()) fail("unbalanced ')'");
    const int match = add(state(State::kMatch));
    patch(f, match);
    return {std::move(states_), f.start};
  }

 private:
  [[noreturn]] void fail(const char*) const {
    throw std::regex_error(std::regex_constants::error_complexity);
  }

  int add(State s) {
    if (states_.size() >= kMaxStates) fail("too many states");
    states_.push_back(std::move(s));
    return static_cast<int>(states_.size()) - 1;
  }
  void patch(Fragment& f, int to) {
    for (const Exit e : f.exits) {
      State& s = states_[static_cast<std::size_t>(e.state)];
      (e.alt ? s.alt : s.next) = to;
    }
    f.exits.clear();
  }
  // A fragment of one state, its `next` open.
  Fragment single(State s) {
    const int at = add(std::move(s));
    return {at, {{at, false}}};
  }
  // A fragment matching the empty string: one jump.
  Fragment empty() { return single(state(State::kJump)); }

  bool more() const { return at_ < p_.size(); }
  char peek() const { return p_[at_]; }

  Fragment alternation() {
    Fragment left = sequence();
    while (more() && peek() == '|') {
      ++at_;
      Fragment right = sequence();
      const int split = add(state(State::kSplit, left.start, right.start));
      Fragment joined{split, std::move(left.exits)};
      joined.exits.insert(joined.exits.end(), right.exits.begin(), right.exits.end());
      left = std::move(joined);
    }
    return left;
  }

  Fragment sequence() {
    Fragment whole = empty();
    while (more() && peek() != '|' && peek() != ')') {
      Fragment next = repeated();
      patch(whole, next.start);
      whole.exits = std::move(next.exits);
    }
    return whole;
  }

  // An atom and its quantifier, if any. A counted repetition compiles its
  // atom again for every copy, so the atom is re-parsed from `begin`.
  Fragment repeated() {
    const std::size_t begin = at_;
    Fragment a = atom();
    if (!more()) return a;
    int min = 0;
    int max = -1;  // -1: unbounded
    switch (peek()) {
      case '?':
        min = 0, max = 1, ++at_;
        break;
      case '*':
        min = 0, max = -1, ++at_;
        break;
      case '+':
        min = 1, max = -1, ++at_;
        break;
      case '{':
        if (!counted(min, max)) return a;
        break;
      default:
        return a;
    }
    if (more() && peek() == '?') ++at_;  // lazy: the same to a whole-value match
    const std::size_t after = at_;
    // Copies of the atom: `min` required, then (max - min) optional, or one
    // looping when unbounded.
    Fragment whole = empty();
    const auto again = [&] {
      at_ = begin;
      return atom();
    };
    for (int i = 0; i < min; ++i) {
      Fragment copy = i == 0 ? std::move(a) : again();
      patch(whole, copy.start);
      whole.exits = std::move(copy.exits);
    }
    if (max < 0) {
      Fragment copy = min == 0 ? std::move(a) : again();
      const int split = add(state(State::kSplit, copy.start));
      patch(copy, split);
      patch(whole, split);
      whole.exits = {{split, true}};
    } else {
      for (int i = min; i < max; ++i) {
        Fragment copy = i == 0 ? std::move(a) : again();
        const int split = add(state(State::kSplit, copy.start));
        patch(whole, split);
        whole.exits = std::move(copy.exits);
        whole.exits.push_back({split, true});
      }
    }
    at_ = after;
    return whole;
  }

  // "{n}", "{n,}" or "{n,m}" at at_; false (at_ unmoved) when what follows
  // the brace is not one, and the brace is then a literal.
  bool counted(int& min, int& max) {
    std::size_t i = at_ + 1;
    const auto number = [&](int& out) {
      const std::size_t from = i;
      long v = 0;
      while (i < p_.size() && p_[i] >= '0' && p_[i] <= '9') {
        v = v * 10 + (p_[i] - '0');
        if (v > 1000) fail("repetition count too large");
        ++i;
      }
      out = static_cast<int>(v);
      return i > from;
    };
    if (!number(min)) return false;
    max = min;
    if (i < p_.size() && p_[i] == ',') {
      ++i;
      if (!number(max)) max = -1;
    }
    if (i >= p_.size() || p_[i] != '}') return false;
    if (max >= 0 && max < min) fail("bad repetition range");
    at_ = i + 1;
    return true;
  }

  Fragment one_of(const CharSet& set) { return single({State::kChar, set, -1, -1}); }

  Fragment atom() {
    const char c = p_[at_++];
    switch (c) {
      case '(': {
        if (at_ + 1 < p_.size() && p_[at_] == '?') {
          if (p_[at_ + 1] != ':') fail("lookaround");
          at_ += 2;
        }
        Fragment inner = alternation();
        if (!more() || peek() != ')') fail("unbalanced '('");
        ++at_;
        return inner;
      }
      case '^':
      case '$':
        return single(state(c == '^' ? State::kBegin : State::kEnd));
      case '.': {
        CharSet any;
        any.set();
        any.reset('\n');
        any.reset('\r');
        return one_of(any);
      }
      case '[':
        return one_of(bracket());
      case '\\':
        return one_of(escape(false).set);
      case '*':
      case '+':
      case '?':
        fail("nothing to repeat");
      default: {
        CharSet s;
        s.set(static_cast<unsigned char>(c));
        return one_of(s);
      }
    }
  }

  // After a backslash: the class it stands for (\d \w \s and their
  // negations, -1 in `single`), or the one character (`single`).
  struct Escaped {
    CharSet set;
    int single = -1;
  };
  Escaped escape(bool in_class) {
    if (!more()) fail("trailing backslash");
    const char c = p_[at_++];
    const auto one = [](char ch) {
      const auto u = static_cast<unsigned char>(ch);
      return Escaped{range(u, u), u};
    };
    switch (c) {
      case 'd':
        return {digits()};
      case 'D':
        return {~digits()};
      case 'w':
        return {word()};
      case 'W':
        return {~word()};
      case 's':
        return {space()};
      case 'S':
        return {~space()};
      case 't':
        return one('\t');
      case 'n':
        return one('\n');
      case 'r':
        return one('\r');
      case 'f':
        return one('\f');
      case 'v':
        return one('\v');
      case '0':
        return one('\0');
      case 'b':
        if (in_class) return one('\b');
        fail("word boundaries");
      default:
        // Letters and digits escape to something this grammar does not have
        // (backreferences, \B, \x, \u, \c); punctuation to itself.
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
          fail("unsupported escape");
        }
        return one(c);
    }
  }

  // "[...]" after its '[': ECMAScript's ClassRanges. A '-' joins the atoms
  // on either side into a range unless it is first, last, or follows a
  // range ("[0-9-_]" is 0-9, '-' and '_').
  CharSet bracket() {
    bool negated = false;
    if (more() && peek() == '^') {
      negated = true;
      ++at_;
    }
    CharSet set;
    int pending = -1;  // the single character just added, which may begin a range
    while (more()) {
      const char c = p_[at_++];
      if (c == ']') return negated ? ~set : set;
      if (c == '-' && pending >= 0 && more() && peek() != ']') {
        const char to = p_[at_++];
        const int last = to == '\\' ? escape(true).single : static_cast<unsigned char>(to);
        if (last < 0) fail("a class escape ends a range");
        if (last < pending) fail("range out of order");
        set |= range(static_cast<unsigned char>(pending), static_cast<unsigned char>(last));
        pending = -1;
        continue;
      }
      Escaped atom =
          c == '\\' ? escape(true)
                    : Escaped{range(static_cast<unsigned char>(c), static_cast<unsigned char>(c)),
                              static_cast<unsigned char>(c)};
      set |= atom.set;
      pending = atom.single;
    }
    fail("unbalanced '['");
  }

  std::string_view p_;
  std::size_t at_ = 0;
  std::vector<State> states_;
};

// Adds `s` and every state its jumps, splits and holding assertions reach
// to `into`, once each (`mark[s] == generation` when already there).
void add_closure(const Program& program, int s, std::size_t pos, std::size_t size,
                 std::vector<int>& into, std::vector<unsigned>& mark, unsigned generation,
                 std::vector<int>& stack) {
  stack.push_back(s);
  while (!stack.empty()) {
    const int at = stack.back();
    stack.pop_back();
    if (at < 0 || mark[static_cast<std::size_t>(at)] == generation) continue;
    mark[static_cast<std::size_t>(at)] = generation;
    const State& st = program.states[static_cast<std::size_t>(at)];
    switch (st.kind) {
      case State::kJump:
        stack.push_back(st.next);
        break;
      case State::kSplit:
        stack.push_back(st.alt);
        stack.push_back(st.next);
        break;
      case State::kBegin:
        if (pos == 0) stack.push_back(st.next);
        break;
      case State::kEnd:
        if (pos == size) stack.push_back(st.next);
        break;
      case State::kChar:
      case State::kMatch:
        into.push_back(at);
        break;
    }
  }
}

bool run(const Program& program, std::string_view value) {
  std::vector<unsigned> mark(program.states.size(), 0);
  std::vector<int> current;
  std::vector<int> next;
  std::vector<int> stack;
  unsigned generation = 1;
  add_closure(program, program.start, 0, value.size(), current, mark, generation, stack);
  for (std::size_t pos = 0; pos < value.size() && !current.empty(); ++pos) {
    const auto c = static_cast<unsigned char>(value[pos]);
    ++generation;
    next.clear();
    for (const int s : current) {
      const State& st = program.states[static_cast<std::size_t>(s)];
      if (st.kind == State::kChar && st.set.test(c)) {
        add_closure(program, st.next, pos + 1, value.size(), next, mark, generation, stack);
      }
    }
    current.swap(next);
  }
  for (const int s : current) {
    if (program.states[static_cast<std::size_t>(s)].kind == State::kMatch) return true;
  }
  return false;
}

const Program& compiled(std::string_view pattern) {
  // A handful of distinct patterns exist (16 in the model), each compiled once;
  // entries are never erased, so references stay valid after the lock drops.
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<const Program>, std::less<>> cache;
  const std::lock_guard lock(mutex);
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    auto program = std::make_unique<const Program>(Compiler(pattern).compile());
    it = cache.emplace(std::string(pattern), std::move(program)).first;
  }
  return *it->second;
}

}  // namespace

void compile_pattern(std::string_view pattern) { compiled(pattern); }

bool matches_pattern(std::string_view pattern, std::string_view value) {
  if (value.size() > kMaxPatternInput) return false;
  return run(compiled(pattern), value);
}

}  // namespace ecr::api::model
