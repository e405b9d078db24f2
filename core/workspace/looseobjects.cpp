#include "looseobjects.h"

#include "fsops.h"

#include <QFile>

#include <git2.h>
#include <git2/sys/odb_backend.h>

#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

namespace airlock::workspace {

namespace {

// Bigger than any object we write (the size cap is far below), small enough to refuse a header that
// claims gigabytes.
constexpr size_t kMaxObjectBytes = size_t(1) << 31;

struct Reader {
    git_odb_backend parent; // first: libgit2 hands us this pointer
    std::mutex mutex;
    std::vector<std::string> dirs;
};

int damaged(const std::string &path, const char *what)
{
    git_error_set_str(GIT_ERROR_ODB, (std::string("the object ") + path + " is damaged: " + what).c_str());
    return -1;
}

enum class Found { No, Yes, Error };

Found readFile(const std::string &path, std::string *bytes)
{
    fs::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid())
        return errno == ENOENT ? Found::No : Found::Error;
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || size_t(st.st_size) > kMaxObjectBytes)
        return Found::Error;
    bytes->resize(size_t(st.st_size));
    size_t done = 0;
    while (done < bytes->size()) {
        const ssize_t n = ::read(fd.get(), bytes->data() + done, bytes->size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += size_t(n);
    }
    bytes->resize(done);
    return Found::Yes;
}

git_object_t typeOf(std::string_view name)
{
    if (name == "blob")
        return GIT_OBJECT_BLOB;
    if (name == "tree")
        return GIT_OBJECT_TREE;
    if (name == "commit")
        return GIT_OBJECT_COMMIT;
    if (name == "tag")
        return GIT_OBJECT_TAG;
    return GIT_OBJECT_INVALID;
}

// Inflates a loose object: "<type> <size>\0<body>". With headerOnly, stops once the header is read.
int inflateObject(const std::string &path, const std::string &raw, bool headerOnly, git_object_t *type, std::string *body,
                  size_t *size)
{
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK)
        return damaged(path, "cannot start zlib");
    zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(raw.data()));
    zs.avail_in = uInt(raw.size());
    std::string out;
    out.resize(std::max<size_t>(raw.size() * 4, 256));
    size_t produced = 0;
    size_t headerEnd = std::string::npos;
    size_t expected = 0;
    int rc = Z_OK;
    for (;;) {
        if (produced == out.size())
            out.resize(out.size() * 2);
        zs.next_out = reinterpret_cast<Bytef *>(out.data() + produced);
        zs.avail_out = uInt(out.size() - produced);
        const uInt before = zs.avail_out;
        rc = inflate(&zs, Z_NO_FLUSH);
        produced += before - zs.avail_out;
        if (headerEnd == std::string::npos) {
            const void *nul = std::memchr(out.data(), 0, std::min<size_t>(produced, 64));
            if (nul) {
                headerEnd = size_t(static_cast<const char *>(nul) - out.data());
                const std::string_view header(out.data(), headerEnd);
                const size_t space = header.find(' ');
                *type = space == std::string_view::npos ? GIT_OBJECT_INVALID : typeOf(header.substr(0, space));
                const std::string digits(space == std::string_view::npos ? std::string_view() : header.substr(space + 1));
                char *end = nullptr;
                const unsigned long long n = digits.empty() ? 0 : std::strtoull(digits.c_str(), &end, 10);
                if (*type == GIT_OBJECT_INVALID || digits.empty() || !end || *end || n > kMaxObjectBytes) {
                    inflateEnd(&zs);
                    return damaged(path, "its header is not a git object header");
                }
                expected = size_t(n);
                if (headerOnly) {
                    inflateEnd(&zs);
                    *size = expected;
                    return 0;
                }
                if (out.size() < headerEnd + 1 + expected + 1)
                    out.resize(headerEnd + 1 + expected + 1);
            } else if (produced >= 64) {
                inflateEnd(&zs);
                return damaged(path, "its header is not a git object header");
            }
        }
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            inflateEnd(&zs);
            return damaged(path, "it is cut short");
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            inflateEnd(&zs);
            return damaged(path, "it is not valid zlib data");
        }
        if (headerEnd != std::string::npos && produced > headerEnd + 1 + expected) {
            inflateEnd(&zs);
            return damaged(path, "it is longer than its header says");
        }
    }
    inflateEnd(&zs);
    if (headerEnd == std::string::npos || produced != headerEnd + 1 + expected)
        return damaged(path, "its length does not match its header");
    body->assign(out.data() + headerEnd + 1, expected);
    *size = expected;
    return 0;
}

int lookup(Reader *r, const git_oid *id, bool headerOnly, git_object_t *type, std::string *body, size_t *size)
{
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, id);
    std::vector<std::string> dirs;
    {
        std::lock_guard lock(r->mutex);
        dirs = r->dirs;
    }
    for (const std::string &dir : dirs) {
        const std::string path = dir + '/' + std::string(hex, 2) + '/' + std::string(hex + 2);
        std::string raw;
        switch (readFile(path, &raw)) {
        case Found::No: continue;
        case Found::Error: return damaged(path, "it cannot be read");
        case Found::Yes: return inflateObject(path, raw, headerOnly, type, body, size);
        }
    }
    return GIT_ENOTFOUND;
}

int readCallback(void **out, size_t *len, git_object_t *type, git_odb_backend *backend, const git_oid *id)
{
    std::string body;
    size_t size = 0;
    if (int rc = lookup(reinterpret_cast<Reader *>(backend), id, false, type, &body, &size); rc != 0)
        return rc;
    void *data = git_odb_backend_data_alloc(backend, size + 1);
    if (!data)
        return -1;
    std::memcpy(data, body.data(), size);
    static_cast<char *>(data)[size] = '\0';
    *out = data;
    *len = size;
    return 0;
}

int readHeaderCallback(size_t *len, git_object_t *type, git_odb_backend *backend, const git_oid *id)
{
    std::string body;
    return lookup(reinterpret_cast<Reader *>(backend), id, true, type, &body, len);
}

int existsCallback(git_odb_backend *backend, const git_oid *id)
{
    auto *r = reinterpret_cast<Reader *>(backend);
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, id);
    std::lock_guard lock(r->mutex);
    for (const std::string &dir : r->dirs) {
        struct stat st;
        if (::stat((dir + '/' + std::string(hex, 2) + '/' + std::string(hex + 2)).c_str(), &st) == 0)
            return 1;
    }
    return 0;
}

void freeCallback(git_odb_backend *backend)
{
    delete reinterpret_cast<Reader *>(backend);
}

} // namespace

Result<git_odb_backend *> installLooseObjectReader(git_odb *odb, const QStringList &objectDirs)
{
    auto *r = new Reader;
    git_odb_init_backend(&r->parent, GIT_ODB_BACKEND_VERSION);
    r->parent.read = readCallback;
    r->parent.read_header = readHeaderCallback;
    r->parent.exists = existsCallback;
    r->parent.free = freeCallback;
    addLooseObjectDirs(&r->parent, objectDirs);
    // Above libgit2's loose (1) and pack (2) backends, so it is asked first.
    if (git_odb_add_backend(odb, &r->parent, 10) < 0) {
        delete r;
        return fail(ErrorCode::Storage, QStringLiteral("cannot set up the object reader"));
    }
    return &r->parent;
}

void addLooseObjectDirs(git_odb_backend *backend, const QStringList &objectDirs)
{
    auto *r = reinterpret_cast<Reader *>(backend);
    std::lock_guard lock(r->mutex);
    for (const QString &d : objectDirs) {
        const std::string dir = QFile::encodeName(d).toStdString();
        if (std::find(r->dirs.begin(), r->dirs.end(), dir) == r->dirs.end())
            r->dirs.push_back(dir);
    }
}

} // namespace airlock::workspace
