#include "docker/elfdeps.h"

#include <QFile>
#include <QFileInfo>
#include <QSet>

#include <cstring>

namespace airlock::docker {

namespace {

constexpr quint32 PT_LOAD_ = 1;
constexpr quint32 PT_DYNAMIC_ = 2;
constexpr quint32 PT_INTERP_ = 3;
constexpr qint64 DT_NEEDED_ = 1;
constexpr qint64 DT_STRTAB_ = 5;
constexpr qint64 DT_RPATH_ = 15;
constexpr qint64 DT_RUNPATH_ = 29;
constexpr qsizetype kMaxElfBytes = 512LL * 1024 * 1024;

template<typename T>
bool readAt(const QByteArray &data, quint64 offset, T &out)
{
    if (offset > quint64(data.size()) || quint64(data.size()) - offset < sizeof(T))
        return false;
    std::memcpy(&out, data.constData() + offset, sizeof(T)); // little-endian host and file (checked)
    return true;
}

QString stringAt(const QByteArray &data, quint64 offset)
{
    if (offset >= quint64(data.size()))
        return {};
    const char *start = data.constData() + offset;
    const void *end = std::memchr(start, '\0', size_t(quint64(data.size()) - offset));
    if (!end)
        return {};
    return QString::fromUtf8(start, static_cast<const char *>(end) - start);
}

struct Segment
{
    quint32 type;
    quint64 offset;
    quint64 vaddr;
    quint64 filesz;
};

} // namespace

QStringList defaultLibraryDirs()
{
    return {QStringLiteral("/lib/x86_64-linux-gnu"), QStringLiteral("/usr/lib/x86_64-linux-gnu"),
            QStringLiteral("/lib/aarch64-linux-gnu"), QStringLiteral("/usr/lib/aarch64-linux-gnu"),
            QStringLiteral("/lib64"), QStringLiteral("/usr/lib64"), QStringLiteral("/lib"), QStringLiteral("/usr/lib"),
            QStringLiteral("/usr/local/lib")};
}

Result<ElfInfo> readElf(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(ErrorCode::NotFound, QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    if (file.size() > kMaxElfBytes)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 is too large to be a program").arg(path));
    const QByteArray data = file.readAll();
    const auto bad = [&path](const QString &why) {
        return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 is not a usable program: %2").arg(path, why));
    };
    if (data.size() < 64 || !data.startsWith("\x7f" "ELF"))
        return bad(QStringLiteral("not an ELF file"));
    if (data.at(4) != 2 || data.at(5) != 1)
        return bad(QStringLiteral("only 64-bit little-endian ELF is supported"));
    quint64 phoff = 0;
    quint16 phentsize = 0;
    quint16 phnum = 0;
    if (!readAt(data, 0x20, phoff) || !readAt(data, 0x36, phentsize) || !readAt(data, 0x38, phnum) || phentsize < 56)
        return bad(QStringLiteral("truncated ELF header"));

    QList<Segment> segments;
    for (quint16 i = 0; i < phnum; ++i) {
        const quint64 at = phoff + quint64(i) * phentsize;
        Segment s{};
        if (!readAt(data, at, s.type) || !readAt(data, at + 8, s.offset) || !readAt(data, at + 16, s.vaddr)
            || !readAt(data, at + 32, s.filesz))
            return bad(QStringLiteral("truncated program header"));
        segments << s;
    }
    const auto fileOffset = [&segments](quint64 vaddr) -> std::optional<quint64> {
        for (const Segment &s : segments) {
            if (s.type == PT_LOAD_ && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz)
                return vaddr - s.vaddr + s.offset;
        }
        return std::nullopt;
    };

    ElfInfo info;
    for (const Segment &s : segments) {
        if (s.type == PT_INTERP_)
            info.interpreter = stringAt(data, s.offset);
    }
    for (const Segment &s : segments) {
        if (s.type != PT_DYNAMIC_)
            continue;
        QList<quint64> needed;
        std::optional<quint64> strtab;
        std::optional<quint64> rpath;
        std::optional<quint64> runpath;
        for (quint64 at = s.offset; at + 16 <= s.offset + s.filesz; at += 16) {
            qint64 tag = 0;
            quint64 value = 0;
            if (!readAt(data, at, tag) || !readAt(data, at + 8, value))
                return bad(QStringLiteral("truncated dynamic section"));
            if (tag == 0)
                break;
            if (tag == DT_NEEDED_)
                needed << value;
            else if (tag == DT_STRTAB_)
                strtab = value;
            else if (tag == DT_RPATH_)
                rpath = value;
            else if (tag == DT_RUNPATH_)
                runpath = value;
        }
        if (!strtab) {
            if (needed.isEmpty())
                continue;
            return bad(QStringLiteral("libraries named without a string table"));
        }
        const auto base = fileOffset(*strtab);
        if (!base)
            return bad(QStringLiteral("the string table lies outside the file"));
        for (quint64 n : std::as_const(needed))
            info.needed << stringAt(data, *base + n);
        const std::optional<quint64> search = runpath ? runpath : rpath;
        if (search) {
            const QString origin = QFileInfo(path).absolutePath();
            const QStringList dirs = stringAt(data, *base + *search).split(u':', Qt::SkipEmptyParts);
            for (QString dir : dirs)
                info.runpath << dir.replace(QLatin1String("$ORIGIN"), origin).replace(QLatin1String("${ORIGIN}"), origin);
        }
    }
    return info;
}

Result<QStringList> dependencyClosure(const QString &program, const QStringList &libraryDirs)
{
    QStringList files{program};
    QSet<QString> seen{QFileInfo(program).canonicalFilePath()};
    for (qsizetype i = 0; i < files.size(); ++i) {
        auto elf = readElf(files.at(i));
        if (!elf)
            return std::unexpected(elf.error());
        if (!elf->interpreter.isEmpty()) {
            const QString canonical = QFileInfo(elf->interpreter).canonicalFilePath();
            if (canonical.isEmpty())
                return fail(ErrorCode::NotFound, QStringLiteral("%1 needs the loader %2, which is missing").arg(files.at(i), elf->interpreter));
            if (!seen.contains(canonical)) {
                seen.insert(canonical);
                files << elf->interpreter;
            }
        }
        for (const QString &name : std::as_const(elf->needed)) {
            if (name.contains(u'/'))
                return fail(ErrorCode::InvalidArgument, QStringLiteral("%1 names a library by path (%2)").arg(files.at(i), name));
            QString found;
            for (const QString &dir : elf->runpath + libraryDirs) {
                if (QFileInfo::exists(dir + u'/' + name)) {
                    found = dir + u'/' + name;
                    break;
                }
            }
            if (found.isEmpty())
                return fail(ErrorCode::NotFound, QStringLiteral("%1 needs %2, which is not in %3")
                                                     .arg(files.at(i), name, libraryDirs.join(QStringLiteral(", "))));
            const QString canonical = QFileInfo(found).canonicalFilePath();
            if (!seen.contains(canonical)) {
                seen.insert(canonical);
                files << found;
            }
        }
    }
    return files;
}

} // namespace airlock::docker
