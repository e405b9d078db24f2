#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QMetaType>
#include <QSet>
#include <QString>

#include <functional>

// What a starting Airlock does with the containers an earlier run left: the decision is a pure function
// of the labelled containers, the sessions in the store and which Airlock processes still live, so it is
// tested without a daemon; DockerBackend carries it out and reports what it did.

namespace airlock::docker {

// Labels on every Airlock container. The policy compiler sets the first three; the backend adds the rest
// so a later run can find the sandbox's id, control folder and owner without any other record.
namespace labels {
inline constexpr char Session[] = "airlock.session";
inline constexpr char PolicyHash[] = "airlock.policy-hash";
inline constexpr char Version[] = "airlock.version";
inline constexpr char Sandbox[] = "airlock.sandbox";
inline constexpr char Lifecycle[] = "airlock.lifecycle";
inline constexpr char PolicyName[] = "airlock.policy";
inline constexpr char Workspace[] = "airlock.workspace";
inline constexpr char ControlDir[] = "airlock.control-dir";
inline constexpr char Owner[] = "airlock.owner"; // host:pid:start-ticks of the Airlock process that made it
inline constexpr char Store[] = "airlock.store"; // host:path of the event store it reports to
inline constexpr char OutputCap[] = "airlock.output-cap"; // the policy's maxOutputBytes, for adopted sandboxes
inline constexpr char WorkspaceBytes[] = "airlock.workspace-bytes"; // resources.workspaceBytes, watched again on adoption
inline constexpr char Remote[] = "airlock.remote"; // "1": the daemon is on another machine; the workspace is a copy in a volume
inline constexpr char IoFor[] = "airlock.io-for"; // the never-started container through which a remote sandbox's volumes are copied
} // namespace labels

struct ContainerRecord
{
    QString id;
    QString name;
    QString state; // created, running, paused, restarting, exited, dead
    QString image;
    QMap<QString, QString> labels;
    qint64 created = 0; // seconds since the epoch

    QString label(const char *key) const { return labels.value(QLatin1StringView(key)); }
    QString sandboxId() const { return label(labels::Sandbox); }
    bool running() const { return state == QLatin1String("running") || state == QLatin1String("restarting"); }
    static ContainerRecord fromJson(const QJsonObject &summary); // an entry of GET /containers/json
};

enum class SessionStatus {
    None,    // the container belongs to no session (a CLI sandbox)
    Unknown, // the store has never heard of it
    Live,
    Ended,
};
// Session states that mean it is over: ended, failed, cancelled, finished, stopped.
SessionStatus sessionStatusOf(const QString &state);

struct ReconcileInput
{
    QList<ContainerRecord> containers;
    QSet<QString> known;   // sandbox ids this backend already manages
    QString storeIdentity; // ours; empty when no store is attached
    std::function<SessionStatus(const QString &session)> session;
    std::function<bool(const QString &owner)> ownerAlive;
};

struct ReconcileAction
{
    enum class Kind {
        Reap,   // remove the container and its control folder
        Adopt,  // ours from now on: attach when running, list as stopped otherwise
        Attach, // in use by another live Airlock process: attach, but it stays theirs
        Leave,  // not ours to judge (another store), or already known
    };
    Kind kind = Kind::Leave;
    ContainerRecord container;
    QString reason;
};

QList<ReconcileAction> planReconcile(const ReconcileInput &input);

struct ReconcileReport
{
    struct Entry
    {
        QString action; // reaped, adopted, attached, left, failed
        QString sandbox;
        QString container;
        QString session;
        QString reason;
    };
    QDateTime at;
    QList<Entry> entries;

    int count(const QString &action) const;
    // One sentence for the user: "Docker: reaped 2 containers of ended sessions, re-adopted 1 …".
    QString summary() const;
    QJsonObject toJson() const;
};

// This process, as the owner label spells it, and whether the process an owner label names still runs.
QString currentOwner();
bool ownerAlive(const QString &owner);

} // namespace airlock::docker

Q_DECLARE_METATYPE(airlock::docker::ReconcileReport)
