#include "git.h"

#include <mutex>

namespace airlock::workspace::git {

void ensureInitialised()
{
    static std::once_flag once;
    std::call_once(once, [] { git_libgit2_init(); });
}

Error lastError(int rc, const QString &what)
{
    const git_error *e = git_error_last();
    const QString detail = e && e->message ? QString::fromUtf8(e->message).trimmed() : QStringLiteral("error %1").arg(rc);
    ErrorCode code = ErrorCode::Storage;
    if (rc == GIT_ENOTFOUND)
        code = ErrorCode::NotFound;
    else if (rc == GIT_ELOCKED || rc == GIT_EMODIFIED)
        code = ErrorCode::Busy;
    else if (rc == GIT_EUSER)
        code = ErrorCode::Cancelled;
    else if (rc == GIT_EMISMATCH)
        code = ErrorCode::Corrupt;
    else if (e) {
        switch (e->klass) {
        case GIT_ERROR_OS:
        case GIT_ERROR_FILESYSTEM: code = ErrorCode::Io; break;
        case GIT_ERROR_ODB:
        case GIT_ERROR_ZLIB:
        case GIT_ERROR_OBJECT:
        case GIT_ERROR_TREE:
        case GIT_ERROR_INDEX:
        case GIT_ERROR_REFERENCE:
        case GIT_ERROR_REPOSITORY:
        case GIT_ERROR_SHA: code = ErrorCode::Corrupt; break;
        case GIT_ERROR_INVALID: code = ErrorCode::InvalidArgument; break;
        default: break;
        }
    }
    return Error{code, what + QStringLiteral(": ") + detail};
}

std::unexpected<Error> failed(int rc, const QString &what)
{
    return std::unexpected(lastError(rc, what));
}

QString toHex(const git_oid &oid)
{
    return QString::fromLatin1(toStdHex(oid));
}

std::string toStdHex(const git_oid &oid)
{
    char buf[GIT_OID_HEXSZ + 1];
    git_oid_tostr(buf, sizeof buf, &oid);
    return std::string(buf);
}

bool fromHex(const QString &hex, git_oid *out)
{
    if (hex.size() != GIT_OID_HEXSZ)
        return false;
    const QByteArray latin = hex.toLatin1();
    return git_oid_fromstrn(out, latin.constData(), size_t(latin.size())) == 0;
}

} // namespace airlock::workspace::git
