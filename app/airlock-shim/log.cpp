#include "log.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace airlock::shim {

namespace {

void emit(const char *level, const char *format, va_list args, int err)
{
    char line[1024];
    int used = std::snprintf(line, sizeof line, "airlock-shim: %s", level);
    if (used < 0)
        return;
    const int more = std::vsnprintf(line + used, sizeof line - static_cast<std::size_t>(used), format, args);
    if (more > 0)
        used = std::min<int>(used + more, static_cast<int>(sizeof line) - 1);
    if (err != 0)
        used += std::snprintf(line + used, sizeof line - static_cast<std::size_t>(used), ": %s", std::strerror(err));
    used = std::min<int>(used, static_cast<int>(sizeof line) - 2);
    line[used++] = '\n';
    std::fwrite(line, 1, static_cast<std::size_t>(used), stderr);
}

} // namespace

void logError(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    emit("error: ", format, args, 0);
    va_end(args);
}

void logErrno(const char *format, ...)
{
    const int err = errno;
    va_list args;
    va_start(args, format);
    emit("error: ", format, args, err);
    va_end(args);
}

void logInfo(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    emit("", format, args, 0);
    va_end(args);
}

} // namespace airlock::shim
