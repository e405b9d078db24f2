#pragma once

#include <QHostAddress>
#include <QString>

#include <optional>

// Which addresses a sandbox may reach without the policy naming them. Only public unicast space is
// open by default; everything that points back at the host, the local network or a cloud provider's
// control plane is special and needs an explicit rule.

namespace airlock::egress {

enum class AddressClass {
    Public,
    Unspecified,  // 0.0.0.0/8, :: — "this host" on most stacks
    Loopback,     // 127.0.0.0/8, ::1
    Private,      // RFC 1918, IPv6 unique local and site-local
    LinkLocal,    // 169.254.0.0/16, fe80::/10
    SharedCgnat,  // 100.64.0.0/10, carrier-grade NAT and some cloud internals
    Metadata,     // cloud instance metadata endpoints (169.254.169.254, fd00:ec2::254, …)
    Multicast,
    Reserved,     // documentation, benchmarking, broadcast, future use, Teredo, non-global IPv6
};

AddressClass classify(const QHostAddress &address);
// "loopback", "private", "cloud metadata" …: for messages.
QString describe(AddressClass cls);

// Reads host as an IP literal. IPv6 is given without brackets and without a zone. IPv4 accepts every
// spelling the C library's resolver would accept ("127.1", "0x7f.0.0.1", "2130706433", octal), so
// that no alternative spelling of a special address passes as a name.
std::optional<QHostAddress> parseIpLiteral(QStringView host);

} // namespace airlock::egress
