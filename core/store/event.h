#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QString>

namespace airlock::store {

// One entry of the append-only log. time is milliseconds since the Unix epoch, UTC.
struct Event {
    qint64 seq = 0;
    QString session; // empty for events that belong to no session
    QString kind;
    QJsonObject payload;
    qint64 time = 0;
};

// A row of the sessions projection.
struct SessionRow {
    QString id;
    QString title;
    QString agent;
    QString policy;
    QString workspace;
    QString state;
    QString parent;
    qint64 created = 0;
    qint64 updated = 0;
    qint64 firstSeq = 0;
    qint64 lastSeq = 0;
    qint64 eventCount = 0;
};

// Event kinds the store itself projects.
namespace kinds {
inline constexpr auto SessionCreated = "session.created"; // payload: title, agent, policy, workspace, parent, owner
inline constexpr auto SessionState = "session.state";     // payload: state
inline constexpr auto SessionRenamed = "session.renamed"; // payload: title
inline constexpr auto PolicySaved = "policy.saved";       // payload: name, document (object), note
inline constexpr auto PermissionRequested = "permission.requested"; // request, toolCall, options, rule, explanation
inline constexpr auto PermissionDecided = "permission.decided";     // request, decision, by, outcome, rule, explanation
inline constexpr auto ApprovalAnswered = "approval.answered";       // request, optionId, decision, by
} // namespace kinds

// Limits on what an append may carry; bigger bodies belong in blobs, not events.
inline constexpr qsizetype kMaxKindLength = 64;
inline constexpr qsizetype kMaxSessionIdLength = 128;
inline constexpr qsizetype kMaxPayloadBytes = 1 << 20;

bool isValidKind(QStringView kind);
bool isValidSessionId(QStringView id);
bool isValidPolicyName(QStringView name);

// A row of the approvals inbox (the approvals projection).
struct ApprovalRow {
    QString session;
    QString sessionTitle;
    QString request;
    qint64 requestedSeq = 0;
    qint64 requestedTime = 0;
    QJsonObject toolCall;   // ACP tool call: title, kind, rawInput, locations …
    QJsonArray options;     // ACP permission options: optionId, name, kind (allow_once, allow_always …)
    QString rule;
    QString explanation;
    QString answer;         // an optionId, once someone answered
    QString answeredBy;
    QString decision;       // allow, deny, cancelled — once the session acted on it
    QString decidedBy;
    bool isOpen() const { return decision.isEmpty(); }
};

// A saved version of a policy document (the policies projection).
struct PolicyVersion {
    QString name;
    int version = 0;
    QByteArray document; // JSON text as saved
    QString note;
    qint64 created = 0;
};

} // namespace airlock::store

Q_DECLARE_METATYPE(airlock::store::Event)
Q_DECLARE_METATYPE(airlock::store::SessionRow)
Q_DECLARE_METATYPE(airlock::store::PolicyVersion)
Q_DECLARE_METATYPE(airlock::store::ApprovalRow)
