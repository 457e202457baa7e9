// The interactive `node console` session: on a terminal, libedit line editing, history in
// ~/.cascade_console_history and tab completion of commands and log levels; piped, one command
// per line. A failed command is shown and the session goes on; a lost connection ends it.
#include <editline/readline.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "app/console_client.hpp"

namespace cascade::app::console_client {

namespace {

// Splits a line into words; "double quotes" keep spaces.
std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (char ch : line) {
    if (ch == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && std::isspace(static_cast<unsigned char>(ch))) {
      if (any)
        out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any)
    out.push_back(cur);
  return out;
}

// --- completion ---

const char* const levels[] = {"trace", "debug", "info", "warn", "error"};

char* generate_from(const char* text, int state, const std::vector<const char*>& words) {
  static std::size_t next;
  if (state == 0)
    next = 0;
  auto len = std::strlen(text);
  while (next < words.size()) {
    const char* w = words[next++];
    if (std::strncmp(w, text, len) == 0)
      return ::strdup(w);
  }
  return nullptr;
}

char* command_generator(const char* text, int state) {
  static std::vector<const char*> names = [] {
    std::vector<const char*> v;
    for (auto& c : commands)
      v.push_back(c.name);
    v.push_back("quit");
    v.push_back("exit");
    return v;
  }();
  return generate_from(text, state, names);
}

char* level_generator(const char* text, int state) {
  static std::vector<const char*> names(std::begin(levels), std::end(levels));
  return generate_from(text, state, names);
}

char** complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1; // no file names: paths here are inside the node's folder
  auto before = split_words(std::string(rl_line_buffer, static_cast<std::size_t>(start)));
  if (before.empty())
    return rl_completion_matches(text, command_generator);
  if (before.size() == 1 && before[0] == "log")
    return rl_completion_matches(text, level_generator);
  return nullptr;
}

} // namespace

int run_interactive(session& s) {
  bool tty = ::isatty(0);
  std::string history;
  if (tty) {
    if (const char* home = std::getenv("HOME"))
      history = std::string(home) + "/.cascade_console_history";
    rl_readline_name = "cascade";
    rl_attempted_completion_function = complete;
    using_history();
    stifle_history(1000);
    if (!history.empty())
      read_history(history.c_str());
    std::cout << "cascade console: " << (s.json() ? "JSON answers; " : "")
              << "help lists the commands, Tab completes them, Ctrl+D leaves\n";
  }
  int rc = 0; // 1 only if the connection is lost: a failed command is just shown
  while (true) {
    std::string line;
    if (tty) {
      char* raw = readline("cascade> ");
      if (!raw)
        break;
      line = raw;
      std::free(raw);
    } else if (!std::getline(std::cin, line)) {
      break;
    }
    auto words = split_words(line);
    if (words.empty())
      continue;
    if (tty)
      add_history(line.c_str());
    if (words[0] == "quit" || words[0] == "exit")
      break;
    if (run_command(s, words) == 1) {
      // A lost connection ends the session; other failures do not.
      try {
        s.wait(s.cap().statusRequest().send(), 5 * kj::SECONDS);
      } catch (kj::Exception& e) {
        bool fatal = false;
        s.describe(e, fatal);
        if (fatal) {
          rc = 1;
          break;
        }
      }
    }
    std::cout << std::flush;
  }
  if (tty) {
    if (!history.empty() && write_history(history.c_str()) == 0)
      ::chmod(history.c_str(), 0600);
    std::cout << "\n";
  }
  return rc;
}

} // namespace cascade::app::console_client
