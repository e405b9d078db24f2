#pragma once

namespace airlock::shim {

// One line on stderr, prefixed with the program name; the backend collects it with the sandbox's logs.
void logError(const char *format, ...) __attribute__((format(printf, 1, 2)));
// As logError, followed by strerror(errno).
void logErrno(const char *format, ...) __attribute__((format(printf, 1, 2)));
void logInfo(const char *format, ...) __attribute__((format(printf, 1, 2)));

} // namespace airlock::shim
