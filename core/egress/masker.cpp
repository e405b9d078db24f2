#include "egress/masker.h"

namespace airlock::egress {

Masker::Masker(QList<QByteArray> values)
{
    for (QByteArray &v : values) {
        // Very short values would mask ordinary text and are not credentials anyway.
        if (v.size() < 4 || m_values.contains(v))
            continue;
        m_longest = std::max(m_longest, v.size());
        m_values.append(std::move(v));
    }
}

QByteArray Masker::process(QByteArrayView data)
{
    if (!active())
        return data.toByteArray();
    QByteArray buf = m_held + data.toByteArray();
    m_held.clear();
    for (const QByteArray &v : std::as_const(m_values)) {
        for (qsizetype at = buf.indexOf(v); at >= 0; at = buf.indexOf(v, at + v.size()))
            std::fill_n(buf.begin() + at, v.size(), '*');
    }
    // Hold back the longest tail that is a proper prefix of some value.
    qsizetype keep = 0;
    for (qsizetype k = std::min(buf.size(), m_longest - 1); k > 0 && keep == 0; --k) {
        const QByteArrayView tail = QByteArrayView(buf).last(k);
        for (const QByteArray &v : std::as_const(m_values)) {
            if (v.size() > k && QByteArrayView(v).first(k) == tail) {
                keep = k;
                break;
            }
        }
    }
    m_held = buf.right(keep);
    buf.chop(keep);
    return buf;
}

QByteArray Masker::flush()
{
    QByteArray out;
    out.swap(m_held);
    return out;
}

} // namespace airlock::egress
