// Carrying out the reconciliation plan (reconcile.h) against the daemon.
#include "docker/dockerbackend.h"
#include "futures.h"

#include "sandbox/protectionlayer.h"
#include "store/eventstore.h"
#include "store/storereader.h"

#include <QDir>
#include <QPromise>

namespace airlock::docker {

QFuture<Result<ReconcileReport>> DockerBackend::reconcile()
{
    auto promise = std::make_shared<QPromise<Result<ReconcileReport>>>();
    promise->start();
    fetchDaemonInfo();
    // airlock.version is set by every compiler output, so even containers from older builds are found.
    airlock::then(m_client->listContainers({{QStringLiteral("label"), {QLatin1String(labels::Version)}}}, true), this, [this, promise](const Result<QJsonArray> &list) {
            if (!list) {
                m_lastFailure = list.error().message;
                promise->addResult(Result<ReconcileReport>(std::unexpected(list.error())));
                promise->finish();
                return;
            }
            m_lastFailure.reset();

            ReconcileInput input;
            for (const QJsonValue &v : *list)
                input.containers << ContainerRecord::fromJson(v.toObject());
            for (DockerSandbox *s : std::as_const(m_sandboxes))
                input.known.insert(s->id());
            input.storeIdentity = storeIdentity();
            std::optional<store::StoreReader> reader;
            if (!m_sessionLookup && eventStore()) {
                if (auto opened = store::StoreReader::open(eventStore()->path()))
                    reader.emplace(std::move(*opened));
            }
            input.session = [this, &reader](const QString &session) -> SessionStatus {
                if (session.isEmpty())
                    return SessionStatus::None;
                if (m_sessionLookup)
                    return m_sessionLookup(session);
                if (!reader)
                    return SessionStatus::Live; // cannot tell: never reap on a guess
                auto row = reader->session(session);
                if (!row)
                    return SessionStatus::Live;
                return *row ? sessionStatusOf((*row)->state) : SessionStatus::Unknown;
            };
            input.ownerAlive = ownerAlive;
            const QList<ReconcileAction> actions = planReconcile(input);

            auto report = std::make_shared<ReconcileReport>();
            report->at = QDateTime::currentDateTimeUtc();
            auto pending = std::make_shared<int>(1);
            const auto done = [this, promise, report, pending] {
                if (--*pending > 0)
                    return;
                if (!report->entries.isEmpty())
                    record({}, QString::fromLatin1(events::DockerReconciled), report->toJson());
                Q_EMIT reconciled(*report);
                promise->addResult(Result<ReconcileReport>(*report));
                promise->finish();
            };
            for (const ReconcileAction &action : actions) {
                ReconcileReport::Entry entry{{}, action.container.sandboxId(), action.container.id,
                                             action.container.label(labels::Session), action.reason};
                switch (action.kind) {
                case ReconcileAction::Kind::Leave:
                    if (input.known.contains(entry.sandbox))
                        continue;
                    entry.action = QStringLiteral("left");
                    report->entries << entry;
                    break;
                case ReconcileAction::Kind::Adopt:
                case ReconcileAction::Kind::Attach:
                    adopt(action.container, action.kind == ReconcileAction::Kind::Adopt);
                    entry.action = action.kind == ReconcileAction::Kind::Adopt ? QStringLiteral("adopted")
                                                                               : QStringLiteral("attached");
                    report->entries << entry;
                    break;
                case ReconcileAction::Kind::Reap: {
                    ++*pending;
                    const ContainerRecord container = action.container;
                    airlock::then(m_client->removeContainer(container.id, true), this, [this, container, entry, report, done](const Result<void> &removed) mutable {
                            if (removed) {
                                entry.action = QStringLiteral("reaped");
                                // Only folders this backend made; a label could name any path.
                                const QString dir = container.label(labels::ControlDir);
                                if (!dir.isEmpty() && dir.startsWith(runtimeDir() + u'/') && !dir.contains(QLatin1String("/../"))) {
                                    removeHostSide(dir);
                                }
                                record(entry.session, QString::fromLatin1(sandbox::events::SandboxDestroyed),
                                       QJsonObject{{QStringLiteral("sandbox"), entry.sandbox},
                                                   {QStringLiteral("backend"), QStringLiteral("docker")},
                                                   {QStringLiteral("policy"), container.label(labels::PolicyName)},
                                                   {QStringLiteral("policyHash"), container.label(labels::PolicyHash)},
                                                   {QStringLiteral("container"), container.id.left(12)},
                                                   {QStringLiteral("reason"), QString(QStringLiteral("reconciled: ") + entry.reason)}});
                            } else {
                                entry.action = QStringLiteral("failed");
                                entry.reason = removed.error().message;
                            }
                            report->entries << entry;
                            done();
                        });
                    break;
                }
                }
            }
            done();
        });
    return promise->future();
}

} // namespace airlock::docker
