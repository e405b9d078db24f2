#pragma once

#include <QByteArray>
#include <QList>

namespace airlock::egress {

// Masks credential values in a byte stream that arrives in pieces: an upstream that echoes the
// request's headers (a debugging endpoint, an error page) must not hand the sandbox the key the
// proxy added. Each occurrence becomes '*' of the same length, so lengths and chunk sizes stay
// valid; a tail that could be the start of a value is held back until the next piece or flush().
class Masker
{
public:
    Masker() = default;
    explicit Masker(QList<QByteArray> values);

    bool active() const { return !m_values.isEmpty(); }
    QByteArray process(QByteArrayView data);
    QByteArray flush();
    qsizetype held() const { return m_held.size(); }

private:
    QList<QByteArray> m_values;
    qsizetype m_longest = 0;
    QByteArray m_held;
};

} // namespace airlock::egress
