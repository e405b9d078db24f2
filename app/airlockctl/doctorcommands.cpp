// airlockctl doctor: what this machine can run, rung by rung (bubblewrap, Docker, gVisor), the
// keychain and the store, each with what to do about it (the checks are core/setup's, shared with the
// window's Check Setup dialog).
#include "cli.h"
#include "dockercli.h"
#include "setup/setupcheck.h"

#include <QEventLoop>
#include <QJsonArray>

namespace airlock::cli {

namespace {

int runDoctor(const QString &, const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("What this machine can run: bubblewrap, Docker and gVisor, the keychain and the "
                                               "store, each with what to do about it. Exit status 1 when local sandboxes cannot run."));
    p.addOption(dockercli::kJson);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    setup::SetupChecker checker(ctx.dbPath);
    QList<setup::Check> checks;
    QEventLoop loop;
    QObject::connect(&checker, &setup::SetupChecker::finished, &loop, [&](const QList<setup::Check> &found) {
        checks = found;
        loop.quit();
    });
    checker.start();
    loop.exec();
    if (p.isSet(dockercli::kJson)) {
        QJsonArray array;
        for (const setup::Check &c : std::as_const(checks))
            array.append(c.toJson());
        outJson(array);
    } else {
        for (const setup::Check &c : std::as_const(checks)) {
            out(QStringLiteral("%1 %2 %3").arg(c.name, -10).arg(setup::stateName(c.state), -6).arg(c.detail));
            if (!c.fix.isEmpty())
                out(QStringLiteral("%1 %2 fix: %3").arg(QString(), -10).arg(QString(), -6).arg(c.fix));
        }
    }
    return !checks.isEmpty() && checks.first().state == setup::Check::State::Ok ? Ok : Failed;
}

} // namespace

AIRLOCKCTL_GROUP({QStringLiteral("doctor"), {QString()}, runDoctor,
                  "  doctor [--json]                             what this machine can run (bubblewrap, Docker, gVisor),\n"
                  "                                              the keychain and the store, with fixes\n",
                  2});

} // namespace airlock::cli
