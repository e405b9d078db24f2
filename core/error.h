#pragma once

#include <QMetaType>
#include <QString>

#include <expected>

namespace airlock {

enum class ErrorCode {
    InvalidArgument,
    NotFound,
    Io,
    NotADatabase,      // the file at the database path is not SQLite, or not ours
    Corrupt,           // SQLite reports damage
    NewerSchema,       // created by a newer Airlock than this one
    Busy,              // another process holds the lock for too long
    Storage,           // any other SQLite failure
    Cancelled,
};

// A failure a user can act on: the message names the thing and says what went wrong.
struct Error {
    ErrorCode code = ErrorCode::Storage;
    QString message;
};

template<typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, QString message)
{
    return std::unexpected(Error{code, std::move(message)});
}

} // namespace airlock

Q_DECLARE_METATYPE(airlock::Error)
