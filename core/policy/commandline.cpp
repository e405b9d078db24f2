#include "policy/compiler.h"

#include <QJsonArray>
#include <QRegularExpression>

namespace airlock::policy {

namespace {

const QString kContinuation = QStringLiteral(" \\\n  ");

QString nanoCpusText(qint64 nano)
{
    QString text = QString::number(double(nano) / 1e9, 'f', 9);
    while (text.endsWith(u'0'))
        text.chop(1);
    if (text.endsWith(u'.'))
        text.chop(1);
    return text;
}

struct Lines {
    QStringList lines;
    void add(const QString &option) { lines << option; }
    void add(const QString &option, const QString &value) { lines << option + u' ' + shellQuote(value); }
};

} // namespace

QString shellQuote(const QString &word)
{
    static const QRegularExpression safe(QStringLiteral("^[A-Za-z0-9_@%+=:,./-]+$"));
    if (safe.match(word).hasMatch())
        return word;
    QString quoted = word;
    quoted.replace(u'\'', QStringLiteral("'\\''"));
    return u'\'' + quoted + u'\'';
}

QString renderBwrapCommandLine(const BwrapCommand &command)
{
    QStringList lines{QStringLiteral("env -i")};
    for (auto it = command.environment.constBegin(); it != command.environment.constEnd(); ++it)
        lines << shellQuote(it.key() + u'=' + it.value());
    lines << QStringLiteral("bwrap");
    // One option with its values per line; the command after "--" stays on one line.
    bool inCommand = false;
    for (const QString &arg : command.arguments) {
        if (inCommand) {
            lines.last() += u' ' + shellQuote(arg);
        } else if (arg.startsWith(u"--")) {
            lines << shellQuote(arg);
            inCommand = arg == u"--";
        } else {
            lines.last() += u' ' + shellQuote(arg);
        }
    }
    return lines.join(kContinuation) + u'\n';
}

QString renderDockerRunCommandLine(const QJsonObject &createBody)
{
    const QJsonObject host = createBody.value(QStringLiteral("HostConfig")).toObject();
    Lines out;
    out.add(QStringLiteral("docker run"));
    if (host.value(QStringLiteral("AutoRemove")).toBool())
        out.add(QStringLiteral("--rm"));
    if (host.value(QStringLiteral("Init")).toBool())
        out.add(QStringLiteral("--init"));
    if (createBody.contains(QStringLiteral("Hostname")))
        out.add(QStringLiteral("--hostname"), createBody.value(QStringLiteral("Hostname")).toString());
    if (createBody.contains(QStringLiteral("User")))
        out.add(QStringLiteral("--user"), createBody.value(QStringLiteral("User")).toString());
    if (createBody.contains(QStringLiteral("WorkingDir")))
        out.add(QStringLiteral("--workdir"), createBody.value(QStringLiteral("WorkingDir")).toString());
    const QJsonObject labels = createBody.value(QStringLiteral("Labels")).toObject();
    for (auto it = labels.constBegin(); it != labels.constEnd(); ++it)
        out.add(QStringLiteral("--label"), it.key() + u'=' + it.value().toString());
    for (const QJsonValue &env : createBody.value(QStringLiteral("Env")).toArray())
        out.add(QStringLiteral("--env"), env.toString());
    for (const QJsonValue &bind : host.value(QStringLiteral("Binds")).toArray())
        out.add(QStringLiteral("--volume"), bind.toString());
    const QJsonObject tmpfs = host.value(QStringLiteral("Tmpfs")).toObject();
    for (auto it = tmpfs.constBegin(); it != tmpfs.constEnd(); ++it)
        out.add(QStringLiteral("--tmpfs"), it.key() + u':' + it.value().toString());
    if (host.value(QStringLiteral("ReadonlyRootfs")).toBool())
        out.add(QStringLiteral("--read-only"));
    if (host.contains(QStringLiteral("NetworkMode")))
        out.add(QStringLiteral("--network"), host.value(QStringLiteral("NetworkMode")).toString());
    for (const QJsonValue &cap : host.value(QStringLiteral("CapDrop")).toArray())
        out.add(QStringLiteral("--cap-drop"), cap.toString());
    for (const QJsonValue &cap : host.value(QStringLiteral("CapAdd")).toArray())
        out.add(QStringLiteral("--cap-add"), cap.toString());
    for (const QJsonValue &option : host.value(QStringLiteral("SecurityOpt")).toArray()) {
        QString text = option.toString();
        // The API takes the profile's text; the CLI wants a file, so the display names one.
        if (text.startsWith(u"seccomp={"))
            text = QStringLiteral("seccomp=airlock-seccomp.json");
        out.add(QStringLiteral("--security-opt"), text);
    }
    if (host.contains(QStringLiteral("Memory"))) {
        out.add(QStringLiteral("--memory"), QString::number(host.value(QStringLiteral("Memory")).toInteger()));
        out.add(QStringLiteral("--memory-swap"), QString::number(host.value(QStringLiteral("MemorySwap")).toInteger()));
    }
    if (host.contains(QStringLiteral("NanoCpus")))
        out.add(QStringLiteral("--cpus"), nanoCpusText(host.value(QStringLiteral("NanoCpus")).toInteger()));
    if (host.contains(QStringLiteral("PidsLimit")))
        out.add(QStringLiteral("--pids-limit"), QString::number(host.value(QStringLiteral("PidsLimit")).toInteger()));
    for (const QJsonValue &limit : host.value(QStringLiteral("Ulimits")).toArray()) {
        const QJsonObject l = limit.toObject();
        out.add(QStringLiteral("--ulimit"), QStringLiteral("%1=%2:%3")
                                                .arg(l.value(QStringLiteral("Name")).toString())
                                                .arg(l.value(QStringLiteral("Soft")).toInteger())
                                                .arg(l.value(QStringLiteral("Hard")).toInteger()));
    }
    if (host.contains(QStringLiteral("Runtime")))
        out.add(QStringLiteral("--runtime"), host.value(QStringLiteral("Runtime")).toString());
    if (host.contains(QStringLiteral("IpcMode")))
        out.add(QStringLiteral("--ipc"), host.value(QStringLiteral("IpcMode")).toString());
    const QJsonArray entrypoint = createBody.value(QStringLiteral("Entrypoint")).toArray();
    if (!entrypoint.isEmpty())
        out.add(QStringLiteral("--entrypoint"), entrypoint.first().toString());
    QString image = shellQuote(createBody.value(QStringLiteral("Image")).toString());
    for (const QJsonValue &arg : createBody.value(QStringLiteral("Cmd")).toArray())
        image += u' ' + shellQuote(arg.toString());
    out.add(image);
    return out.lines.join(kContinuation) + u'\n';
}

} // namespace airlock::policy
