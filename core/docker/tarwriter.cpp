#include "docker/tarwriter.h"

#include <cstring>

namespace airlock::docker {

namespace {

constexpr qsizetype kBlock = 512;

QString clean(const QString &path)
{
    QString p = path;
    while (p.startsWith(u'/'))
        p.remove(0, 1);
    while (p.endsWith(u'/'))
        p.chop(1);
    return p;
}

// An octal number, zero-padded, NUL-terminated, in a field of `width` bytes.
bool octal(char *field, int width, qint64 value)
{
    const QByteArray digits = QByteArray::number(value, 8);
    if (digits.size() > width - 1)
        return false;
    std::memset(field, '0', size_t(width - 1));
    std::memcpy(field + (width - 1 - digits.size()), digits.constData(), size_t(digits.size()));
    field[width - 1] = '\0';
    return true;
}

// One pax record: "<length> <key>=<value>\n", where the length counts itself.
QByteArray paxRecord(const QByteArray &key, const QByteArray &value)
{
    const qsizetype body = 1 + key.size() + 1 + value.size() + 1;
    qsizetype total = body + QByteArray::number(body).size();
    if (QByteArray::number(total).size() + body != total)
        ++total;
    return QByteArray::number(total) + ' ' + key + '=' + value + '\n';
}

} // namespace

bool TarWriter::contains(const QString &path) const
{
    return m_paths.contains(clean(path));
}

Result<void> TarWriter::header(const QString &path, char type, quint32 mode, quint32 uid, quint32 gid, qint64 size,
                               const QString &link)
{
    QString name = clean(path);
    if (name.isEmpty() || name.split(u'/').contains(QStringLiteral("..")))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a path inside the image").arg(path));
    if (m_paths.contains(name))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is in the image twice").arg(name));
    QByteArray full = name.toUtf8();
    if (type == '5')
        full += '/';
    QByteArray prefix;
    QByteArray pax;
    if (full.size() > 100) {
        // ustar: a prefix of up to 155 bytes, split at a '/', holds the rest; past that a pax record does.
        qsizetype cut = full.lastIndexOf('/', std::min<qsizetype>(155, full.size() - 2));
        if (cut > 0 && full.size() - cut - 1 <= 100) {
            prefix = full.left(cut);
            full = full.mid(cut + 1);
        } else {
            pax += paxRecord("path", full);
            full = full.right(99);
        }
    }
    QByteArray target = link.toUtf8();
    if (target.size() > 100) {
        pax += paxRecord("linkpath", target);
        target.truncate(100);
    }
    if (!pax.isEmpty()) {
        char x[kBlock];
        std::memset(x, 0, sizeof x);
        std::memcpy(x, "PaxHeaders/entry", 16);
        octal(x + 100, 8, 0644);
        octal(x + 108, 8, 0);
        octal(x + 116, 8, 0);
        octal(x + 124, 12, pax.size());
        octal(x + 136, 12, m_time);
        std::memset(x + 148, ' ', 8);
        x[156] = 'x';
        std::memcpy(x + 257, "ustar", 6);
        std::memcpy(x + 263, "00", 2);
        unsigned xsum = 0;
        for (unsigned char c : x)
            xsum += c;
        octal(x + 148, 7, xsum);
        x[155] = ' ';
        m_data.append(x, kBlock);
        m_data.append(pax);
        m_data.append((kBlock - pax.size() % kBlock) % kBlock, '\0');
    }

    char h[kBlock];
    std::memset(h, 0, sizeof h);
    std::memcpy(h, full.constData(), size_t(full.size()));
    octal(h + 100, 8, mode & 07777);
    octal(h + 108, 8, uid);
    octal(h + 116, 8, gid);
    if (!octal(h + 124, 12, size))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is too large for a tar archive").arg(name));
    octal(h + 136, 12, m_time);
    std::memset(h + 148, ' ', 8);
    h[156] = type;
    std::memcpy(h + 157, target.constData(), size_t(target.size()));
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memcpy(h + 265, uid == 0 ? "root" : "agent", uid == 0 ? 4 : 5);
    std::memcpy(h + 297, gid == 0 ? "root" : "agent", gid == 0 ? 4 : 5);
    std::memcpy(h + 345, prefix.constData(), size_t(prefix.size()));
    unsigned sum = 0;
    for (unsigned char c : h)
        sum += c;
    octal(h + 148, 7, sum);
    h[155] = ' ';
    m_data.append(h, kBlock);
    m_paths.insert(name);
    return {};
}

Result<void> TarWriter::addDirectory(const QString &path, quint32 mode, quint32 uid, quint32 gid)
{
    return header(path, '5', mode, uid, gid, 0, {});
}

Result<void> TarWriter::addFile(const QString &path, const QByteArray &data, quint32 mode, quint32 uid, quint32 gid)
{
    if (auto h = header(path, '0', mode, uid, gid, data.size(), {}); !h)
        return h;
    m_data.append(data);
    const qsizetype pad = (kBlock - data.size() % kBlock) % kBlock;
    m_data.append(pad, '\0');
    return {};
}

Result<void> TarWriter::addSymlink(const QString &path, const QString &target, quint32 uid, quint32 gid)
{
    return header(path, '2', 0777, uid, gid, 0, target);
}

void TarWriter::setTime(qint64 secondsSinceEpoch)
{
    m_time = secondsSinceEpoch < 0 ? kFixedTime : secondsSinceEpoch;
}

QByteArray TarWriter::finish()
{
    m_data.append(2 * kBlock, '\0');
    m_paths.clear();
    return std::exchange(m_data, {});
}

} // namespace airlock::docker
