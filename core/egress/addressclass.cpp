#include "egress/addressclass.h"

#include <arpa/inet.h>

namespace airlock::egress {

namespace {

bool inV4(quint32 address, quint32 network, int prefix)
{
    const quint32 mask = prefix == 0 ? 0 : ~quint32(0) << (32 - prefix);
    return (address & mask) == (network & mask);
}

constexpr quint32 v4(quint8 a, quint8 b, quint8 c, quint8 d)
{
    return quint32(a) << 24 | quint32(b) << 16 | quint32(c) << 8 | d;
}

AddressClass classifyV4(quint32 a)
{
    // Metadata first: these live inside the link-local and shared ranges.
    if (a == v4(169, 254, 169, 254) || a == v4(169, 254, 170, 2) || a == v4(169, 254, 169, 253)
        || a == v4(100, 100, 100, 200))
        return AddressClass::Metadata;
    if (inV4(a, v4(0, 0, 0, 0), 8))
        return AddressClass::Unspecified;
    if (inV4(a, v4(127, 0, 0, 0), 8))
        return AddressClass::Loopback;
    if (inV4(a, v4(10, 0, 0, 0), 8) || inV4(a, v4(172, 16, 0, 0), 12) || inV4(a, v4(192, 168, 0, 0), 16))
        return AddressClass::Private;
    if (inV4(a, v4(169, 254, 0, 0), 16))
        return AddressClass::LinkLocal;
    if (inV4(a, v4(100, 64, 0, 0), 10))
        return AddressClass::SharedCgnat;
    if (inV4(a, v4(224, 0, 0, 0), 4))
        return AddressClass::Multicast;
    if (inV4(a, v4(240, 0, 0, 0), 4)           // future use and the broadcast address
        || inV4(a, v4(192, 0, 0, 0), 24)       // IETF protocol assignments
        || inV4(a, v4(192, 0, 2, 0), 24) || inV4(a, v4(198, 51, 100, 0), 24)
        || inV4(a, v4(203, 0, 113, 0), 24)     // documentation
        || inV4(a, v4(198, 18, 0, 0), 15)      // benchmarking
        || inV4(a, v4(192, 88, 99, 0), 24))    // deprecated 6to4 relay anycast
        return AddressClass::Reserved;
    return AddressClass::Public;
}

quint32 v4At(const Q_IPV6ADDR &b, int offset)
{
    return quint32(b[offset]) << 24 | quint32(b[offset + 1]) << 16 | quint32(b[offset + 2]) << 8
           | quint32(b[offset + 3]);
}

bool zeroBytes(const Q_IPV6ADDR &b, int from, int to)
{
    for (int i = from; i < to; ++i) {
        if (b[i] != 0)
            return false;
    }
    return true;
}

AddressClass classifyV6(const Q_IPV6ADDR &b)
{
    // Addresses that carry an IPv4 address are judged by it, so ::ffff:127.0.0.1 is loopback.
    if (zeroBytes(b, 0, 10) && b[10] == 0xff && b[11] == 0xff)
        return classifyV4(v4At(b, 12));
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address through a translator.
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zeroBytes(b, 4, 12))
        return classifyV4(v4At(b, 12));
    // 6to4 (2002::/16) embeds an IPv4 address in bytes 2..5.
    if (b[0] == 0x20 && b[1] == 0x02)
        return classifyV4(v4At(b, 2));
    if (zeroBytes(b, 0, 15)) {
        if (b[15] == 0)
            return AddressClass::Unspecified;
        if (b[15] == 1)
            return AddressClass::Loopback;
    }
    if (zeroBytes(b, 0, 12))
        return AddressClass::Reserved; // IPv4-compatible, deprecated
    // AWS's IPv6 metadata endpoint, fd00:ec2::254.
    static const Q_IPV6ADDR awsMetadata = {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
    if (std::equal(std::begin(b.c), std::end(b.c), std::begin(awsMetadata.c)))
        return AddressClass::Metadata;
    if ((b[0] & 0xfe) == 0xfc)
        return AddressClass::Private; // fc00::/7 unique local
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return AddressClass::LinkLocal; // fe80::/10
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return AddressClass::Private; // fec0::/10 site-local, deprecated
    if (b[0] == 0xff)
        return AddressClass::Multicast;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return AddressClass::Reserved; // documentation
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00)
        return AddressClass::Reserved; // Teredo hides an IPv4 address we would not see
    if ((b[0] & 0xe0) != 0x20)
        return AddressClass::Reserved; // only 2000::/3 is global unicast today
    return AddressClass::Public;
}

} // namespace

AddressClass classify(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 a = address.toIPv4Address(&isV4);
    if (isV4)
        return classifyV4(a);
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return classifyV6(address.toIPv6Address());
    return AddressClass::Reserved; // a null or unknown address is never a destination
}

QString describe(AddressClass cls)
{
    switch (cls) {
    case AddressClass::Public:
        return QStringLiteral("public");
    case AddressClass::Unspecified:
        return QStringLiteral("unspecified");
    case AddressClass::Loopback:
        return QStringLiteral("loopback");
    case AddressClass::Private:
        return QStringLiteral("private");
    case AddressClass::LinkLocal:
        return QStringLiteral("link-local");
    case AddressClass::SharedCgnat:
        return QStringLiteral("shared (CGNAT)");
    case AddressClass::Metadata:
        return QStringLiteral("cloud metadata");
    case AddressClass::Multicast:
        return QStringLiteral("multicast");
    case AddressClass::Reserved:
        return QStringLiteral("reserved");
    }
    return {};
}

std::optional<QHostAddress> parseIpLiteral(QStringView host)
{
    if (host.isEmpty() || host.size() > 64)
        return std::nullopt;
    if (host.contains(u':')) {
        if (host.contains(u'%'))
            return std::nullopt; // zones name host interfaces; never from a sandbox
        QHostAddress address;
        if (!address.setAddress(host.toString()) || address.protocol() != QAbstractSocket::IPv6Protocol)
            return std::nullopt;
        return address;
    }
    // Only digits, dots and hex letters can form an inet_aton spelling; a name with other letters is
    // a name. inet_aton also stops at whitespace, which a checked host never contains.
    for (const QChar c : host) {
        const char16_t u = c.unicode();
        const bool ok = (u >= u'0' && u <= u'9') || u == u'.' || u == u'x' || u == u'X'
                        || (u >= u'a' && u <= u'f') || (u >= u'A' && u <= u'F');
        if (!ok)
            return std::nullopt;
    }
    in_addr parsed{};
    const QByteArray latin = host.toLatin1();
    if (::inet_aton(latin.constData(), &parsed) == 0)
        return std::nullopt;
    return QHostAddress(ntohl(parsed.s_addr));
}

} // namespace airlock::egress
