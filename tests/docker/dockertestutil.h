#pragma once

// Shared by the tests that need a real Docker daemon: whether one is there (and why not), the offline
// base image, the Hardened preset pointed at it, and waiting for sandboxes and execs without sleeping.

#include "docker/baseimage.h"
#include "docker/dockerbackend.h"
#include "docker/dockerclient.h"
#include "policy/presets.h"
#include "sandbox/shimprotocol.h"

#include <QCoreApplication>
#include <QTest>

namespace airlock::docker::test {

template<typename T>
Result<T> await(const QFuture<Result<T>> &future, int timeoutMs = 30000)
{
    if (!QTest::qWaitFor([&future] { return future.isFinished(); }, timeoutMs))
        return fail(ErrorCode::Io, QStringLiteral("timed out waiting for Docker"));
    if (future.resultCount() == 0)
        return fail(ErrorCode::Cancelled, QStringLiteral("the call was cancelled"));
    return future.result();
}

// Why these tests cannot run here, or nothing. Builds the base image when the daemon lacks it.
inline std::optional<QString> dockerUnavailable()
{
    static bool checked = false;
    static QString reason; // empty: usable
    if (!checked) {
        checked = true;
        DockerClient client(DockerEndpoint::fromEnvironment().value_or(DockerEndpoint{}));
        if (auto ping = await(client.ping(), 15000); !ping) {
            reason = QStringLiteral("no usable Docker daemon: %1").arg(ping.error().message);
        } else if (!await(client.inspectImage(QString::fromLatin1(kBaseImage)), 15000)) {
            if (auto built = await(buildBaseImage(&client, {}), 120000); !built)
                reason = QStringLiteral("the offline base image cannot be built: %1").arg(built.error().message);
        }
    }
    if (reason.isEmpty())
        return std::nullopt;
    return reason;
}

// The Hardened preset, on the offline base image (no registry here for debian:bookworm-slim).
inline policy::Policy hardened()
{
    policy::Policy p = *policy::findPreset(u"hardened");
    p.runtime.image = QString::fromLatin1(kBaseImage);
    if (qEnvironmentVariableIntValue("AIRLOCK_TEST_WITHOUT_LAYER")) // as in sandboxtestutil.h
        p.filesystem.protectionLayer = false;
    return p;
}

inline bool waitForState(sandbox::Sandbox *s, std::initializer_list<sandbox::SandboxState> states, int timeoutMs = 30000)
{
    return QTest::qWaitFor([&] { return std::find(states.begin(), states.end(), s->state()) != states.end(); }, timeoutMs);
}

struct Outcome
{
    QByteArray out;
    QByteArray err;
    std::optional<sandbox::ExitStatus> status;
    std::optional<Error> error;
    int code() const { return status && status->exitCode ? *status->exitCode : -1; }
};

inline Outcome run(sandbox::Sandbox *s, const QStringList &argv, int timeoutMs = 30000, const QStringList &env = {})
{
    Outcome o;
    sandbox::ExecRequest request;
    request.argv = argv;
    request.env = env;
    request.inheritEnv = true;
    auto process = s->exec(request);
    if (!process) {
        o.error = process.error();
        return o;
    }
    QObject::connect(*process, &sandbox::SandboxProcess::stdoutReceived, [&o](const QByteArray &c) { o.out += c; });
    QObject::connect(*process, &sandbox::SandboxProcess::stderrReceived, [&o](const QByteArray &c) { o.err += c; });
    QObject::connect(*process, &sandbox::SandboxProcess::finished, [&o](const sandbox::ExitStatus &st) { o.status = st; });
    QObject::connect(*process, &sandbox::SandboxProcess::failed, [&o](const Error &e) { o.error = e; });
    if (!QTest::qWaitFor([&o] { return o.status || o.error; }, timeoutMs))
        o.error = Error{ErrorCode::Io, QStringLiteral("exec timed out")};
    return o;
}

// Creates and waits until it runs; nullptr with a QTest failure message otherwise.
inline DockerSandbox *start(DockerBackend &backend, const sandbox::SandboxSpec &spec, QString *why)
{
    auto created = backend.create(spec);
    if (!created) {
        *why = created.error().message;
        return nullptr;
    }
    auto *s = qobject_cast<DockerSandbox *>(*created);
    if (!waitForState(s, {sandbox::SandboxState::Running, sandbox::SandboxState::Failed}, 60000)
        || s->state() != sandbox::SandboxState::Running) {
        *why = QStringLiteral("state %1: %2").arg(sandbox::stateName(s->state()), s->info().message);
        return nullptr;
    }
    return s;
}

inline bool destroyAndWait(DockerBackend &backend, DockerSandbox *s, int timeoutMs = 30000)
{
    const QString id = s->id();
    bool removed = false;
    auto c = QObject::connect(&backend, &sandbox::Backend::sandboxRemoved, [&](const QString &gone) { removed = removed || gone == id; });
    s->destroy();
    const bool ok = QTest::qWaitFor([&] { return removed; }, timeoutMs);
    QObject::disconnect(c);
    return ok;
}

} // namespace airlock::docker::test
