#pragma once

#include "policy/codec.h"
#include "policy/policy.h"

#include <QTest>

// Shared by the policy tests: readable failures for Policy values and a strict way to build them.

namespace QTest {
template<>
inline char *toString(const airlock::policy::Policy &policy)
{
    return qstrdup(airlock::policy::serializePolicy(policy).constData());
}
} // namespace QTest

namespace policytest {

// Parses a document that the test expects to be valid; on failure the issues are in the message.
inline airlock::policy::Policy parseValid(const QByteArray &json, bool *ok)
{
    auto decoded = airlock::policy::decodePolicy(json);
    *ok = decoded.has_value();
    if (!decoded) {
        qWarning().noquote() << "unexpectedly invalid:\n" << airlock::policy::formatIssues(decoded.error());
        return {};
    }
    return *decoded;
}

// A document with the given top-level sections after schemaVersion, e.g. R"("network": {"mode": "host"})".
inline QByteArray doc(const char *sections)
{
    const QByteArray body(sections);
    return body.isEmpty() ? QByteArray(R"({"schemaVersion": 1})")
                          : QByteArray(R"({"schemaVersion": 1, )") + body + '}';
}

inline QStringList issueLines(const QList<airlock::policy::Issue> &issues)
{
    QStringList lines;
    for (const auto &issue : issues)
        lines << issue.toString();
    return lines;
}

} // namespace policytest

#define POLICY_PARSE(var, json)                                                                              \
    bool var##Ok = false;                                                                                    \
    const airlock::policy::Policy var = policytest::parseValid(json, &var##Ok);                             \
    QVERIFY2(var##Ok, "policy should parse")
