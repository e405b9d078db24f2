#include "docker/reconcile.h"

#include <QCoreApplication>
#include <QFile>
#include <QHostInfo>
#include <QJsonArray>

namespace airlock::docker {

namespace {

// Field 22 of /proc/PID/stat: start time in clock ticks since boot. A pid alone can be reused.
QString startTicks(qint64 pid)
{
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return {};
    const QByteArray line = stat.readAll();
    const qsizetype close = line.lastIndexOf(')'); // the command name may hold spaces and parentheses
    if (close < 0)
        return {};
    const QList<QByteArray> fields = line.mid(close + 2).split(' ');
    return fields.size() > 19 ? QString::fromLatin1(fields.at(19)) : QString();
}

} // namespace

ContainerRecord ContainerRecord::fromJson(const QJsonObject &summary)
{
    ContainerRecord r;
    r.id = summary.value(u"Id").toString();
    const QJsonArray names = summary.value(u"Names").toArray();
    if (!names.isEmpty())
        r.name = names.first().toString().mid(1); // "/airlock-sb-…"
    r.state = summary.value(u"State").toString();
    r.image = summary.value(u"Image").toString();
    r.created = qint64(summary.value(u"Created").toDouble());
    const QJsonObject labelObject = summary.value(u"Labels").toObject();
    for (auto it = labelObject.constBegin(); it != labelObject.constEnd(); ++it)
        r.labels.insert(it.key(), it.value().toString());
    return r;
}

SessionStatus sessionStatusOf(const QString &state)
{
    static const QStringList over{QStringLiteral("ended"), QStringLiteral("failed"), QStringLiteral("cancelled"),
                                  QStringLiteral("finished"), QStringLiteral("stopped")};
    return over.contains(state) ? SessionStatus::Ended : SessionStatus::Live;
}

QList<ReconcileAction> planReconcile(const ReconcileInput &input)
{
    QList<ReconcileAction> actions;
    for (const ContainerRecord &c : input.containers) {
        ReconcileAction a;
        a.container = c;
        const QString sandbox = c.sandboxId();
        const QString session = c.label(labels::Session);
        const QString store = c.label(labels::Store);
        const bool persistent = c.label(labels::Lifecycle) == QLatin1String("persistent");
        const QString owner = c.label(labels::Owner);
        if (!sandbox.isEmpty() && input.known.contains(sandbox)) {
            a.kind = ReconcileAction::Kind::Leave;
            a.reason = QStringLiteral("already managed");
        } else if (!store.isEmpty() && store != input.storeIdentity) {
            a.kind = ReconcileAction::Kind::Leave;
            a.reason = QStringLiteral("it reports to another Airlock database (%1)").arg(store);
        } else if (sandbox.isEmpty()) {
            a.kind = ReconcileAction::Kind::Reap;
            a.reason = QStringLiteral("it has Airlock labels but no sandbox id");
        } else if (!session.isEmpty() && input.session
                   && input.session(session) == SessionStatus::Unknown && !input.storeIdentity.isEmpty()) {
            a.kind = ReconcileAction::Kind::Reap;
            a.reason = QStringLiteral("its session %1 is not in the store").arg(session);
        } else if (!session.isEmpty() && input.session && input.session(session) == SessionStatus::Ended) {
            a.kind = ReconcileAction::Kind::Reap;
            a.reason = QStringLiteral("its session %1 has ended").arg(session);
        } else if (persistent) {
            a.kind = ReconcileAction::Kind::Adopt;
            a.reason = c.running() ? QStringLiteral("persistent and running") : QStringLiteral("persistent, stopped");
        } else if (!owner.isEmpty() && owner != currentOwner() && input.ownerAlive && input.ownerAlive(owner)) {
            // Its process is alive: one it is still starting (created, not yet running) is left to it.
            a.kind = c.running() ? ReconcileAction::Kind::Attach : ReconcileAction::Kind::Leave;
            a.reason = c.running() ? QStringLiteral("in use by another Airlock process (%1)").arg(owner)
                                   : QStringLiteral("another Airlock process (%1) is starting or stopping it").arg(owner);
        } else {
            a.kind = ReconcileAction::Kind::Reap;
            a.reason = c.running() ? QStringLiteral("%1, and the Airlock process that started it is gone")
                                         .arg(c.label(labels::Lifecycle).isEmpty() ? QStringLiteral("ephemeral")
                                                                                   : c.label(labels::Lifecycle))
                                   : QStringLiteral("not persistent and no longer running");
        }
        actions.append(a);
    }
    return actions;
}

int ReconcileReport::count(const QString &action) const
{
    return int(std::count_if(entries.begin(), entries.end(), [&](const Entry &e) { return e.action == action; }));
}

QString ReconcileReport::summary() const
{
    QStringList parts;
    const auto part = [&](const QString &action, const char *one, const char *many) {
        const int n = count(action);
        if (n > 0)
            parts << QStringLiteral("%1 %2").arg(n).arg(QLatin1StringView(n == 1 ? one : many));
    };
    part(QStringLiteral("reaped"), "container reaped", "containers reaped");
    part(QStringLiteral("adopted"), "persistent sandbox re-adopted", "persistent sandboxes re-adopted");
    part(QStringLiteral("attached"), "sandbox of another Airlock process attached", "sandboxes of other Airlock processes attached");
    part(QStringLiteral("left"), "container left alone", "containers left alone");
    part(QStringLiteral("failed"), "container could not be handled", "containers could not be handled");
    if (parts.isEmpty())
        return QStringLiteral("Docker: no Airlock containers were left from earlier runs.");
    return QStringLiteral("Docker: ") + parts.join(QStringLiteral(", ")) + u'.';
}

QJsonObject ReconcileReport::toJson() const
{
    QJsonArray list;
    for (const Entry &e : entries) {
        QJsonObject o{{QStringLiteral("action"), e.action},
                      {QStringLiteral("sandbox"), e.sandbox},
                      {QStringLiteral("container"), e.container.left(12)},
                      {QStringLiteral("reason"), e.reason}};
        if (!e.session.isEmpty())
            o.insert(QStringLiteral("session"), e.session);
        list.append(o);
    }
    return QJsonObject{{QStringLiteral("backend"), QStringLiteral("docker")},
                       {QStringLiteral("summary"), summary()},
                       {QStringLiteral("at"), at.toMSecsSinceEpoch()},
                       {QStringLiteral("containers"), list}};
}

QString currentOwner()
{
    const qint64 pid = QCoreApplication::applicationPid();
    return QStringLiteral("%1:%2:%3").arg(QHostInfo::localHostName()).arg(pid).arg(startTicks(pid));
}

bool ownerAlive(const QString &owner)
{
    const QStringList parts = owner.split(u':');
    if (parts.size() != 3)
        return false;
    if (parts.at(0) != QHostInfo::localHostName())
        return true; // another machine's process: nothing here can tell, so assume it lives
    bool ok = false;
    const qint64 pid = parts.at(1).toLongLong(&ok);
    if (!ok || pid <= 0)
        return false;
    const QString ticks = startTicks(pid);
    return !ticks.isEmpty() && ticks == parts.at(2);
}

} // namespace airlock::docker
