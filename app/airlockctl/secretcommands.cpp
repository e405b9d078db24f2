// airlockctl secrets …: the credentials the egress proxy injects (model API keys, tokens), kept in the
// OS keychain or, where none runs, in a file only this user can read. Values are read from stdin or a
// prompt that does not echo, never from the command line, and never printed.
#include "cli.h"
#include "egress/keychain.h"
#include "egress/secretstore.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonObject>

#include <cstdio>
#include <termios.h>
#include <unistd.h>

namespace airlock::cli {

namespace {

using egress::SecretStore;

QString whereSaid(const SecretStore &store, egress::SecretPlace place, const QString &name, bool chosen)
{
    if (place == egress::SecretPlace::Keychain)
        return QStringLiteral("the keychain");
    return QStringLiteral("%1 (%2, so a file readable by this user only)")
        .arg(store.filePath(name), chosen ? QStringLiteral("as asked") : QStringLiteral("no keychain runs here"));
}

QString keychainWord(const egress::KeychainStatus &status)
{
    switch (status.state) {
    case egress::KeychainState::Ready: return QStringLiteral("ready");
    case egress::KeychainState::Locked: return QStringLiteral("locked");
    case egress::KeychainState::NoCollection: return QStringLiteral("no-collection");
    case egress::KeychainState::Absent: break;
    }
    return QStringLiteral("absent");
}

// One line from stdin; on a terminal, asked for without echo.
Result<QByteArray> readValue(const QString &name)
{
    const bool tty = ::isatty(STDIN_FILENO);
    termios saved {};
    if (tty) {
        std::fprintf(stderr, "value of %s (not shown): ", qPrintable(name));
        std::fflush(stderr);
        if (::tcgetattr(STDIN_FILENO, &saved) == 0) {
            termios quiet = saved;
            quiet.c_lflag &= ~tcflag_t(ECHO);
            ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
        }
    }
    QByteArray value;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n <= 0)
            break;
        value.append(buf, n);
        if (value.contains('\n') || value.size() > 128 * 1024)
            break;
    }
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        std::fputc('\n', stderr);
    }
    if (const qsizetype nl = value.indexOf('\n'); nl >= 0)
        value.truncate(nl);
    if (value.trimmed().isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("no value given; pipe it in (e.g. from a password manager) "
                                                               "or type it at the prompt"));
    return value;
}

int set(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Store a credential under NAME: read from stdin (or a prompt that does not echo), kept in the keychain, or "
        "in a private file where no keychain runs. Agents' presets name theirs: anthropic, openai, gemini."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("The secret's name, e.g. anthropic."));
    const QCommandLineOption file(QStringLiteral("file"),
                                  QStringLiteral("Keep it in a file readable by this user only, even where a keychain runs."));
    const QCommandLineOption keychain(QStringLiteral("keychain"), QStringLiteral("Keep it in the keychain, or fail."));
    p.addOption(file);
    p.addOption(keychain);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.isSet(file) && p.isSet(keychain))
        return error(QStringLiteral("choose one of --file and --keychain"), Usage);
    if (p.positionalArguments().size() != 1)
        return error(QStringLiteral("secrets set needs one name; the value comes from stdin, never the command line"), Usage);
    const QString name = p.positionalArguments().first();
    if (!SecretStore::isValidName(name))
        return error(QStringLiteral("'%1' is not a secret name: use letters, digits, '.', '_' and '-'").arg(name.left(80)), Usage);
    auto value = readValue(name);
    if (!value)
        return error(value.error().message, Usage);
    SecretStore store;
    std::optional<egress::SecretPlace> where;
    if (p.isSet(file))
        where = egress::SecretPlace::File;
    else if (p.isSet(keychain))
        where = egress::SecretPlace::Keychain;
    auto place = store.set(name, *value, where);
    value->fill('\0');
    if (!place)
        return error(place.error());
    out(QStringLiteral("stored %1 in %2").arg(name, whereSaid(store, *place, name, where.has_value())));
    return Ok;
}

int list(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("List stored secrets by name and place; values are never shown."));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print JSON."));
    p.addOption(json);
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    SecretStore store;
    auto all = store.list();
    if (!all)
        return error(all.error());
    const egress::KeychainStatus status = egress::keychainStatus();
    if (p.isSet(json)) {
        QJsonArray array;
        for (const auto &s : std::as_const(*all))
            array.append(QJsonObject{{QStringLiteral("name"), s.name}, {QStringLiteral("place"), egress::nameOf(s.place)},
                                     {QStringLiteral("updated"), s.updated}});
        outJson(QJsonObject{{QStringLiteral("secrets"), array},
                            {QStringLiteral("keychain"), keychainWord(status)},
                            {QStringLiteral("folder"), SecretStore::defaultDir()}});
        return Ok;
    }
    if (status.state == egress::KeychainState::Absent)
        std::fprintf(stderr, "airlockctl: note: no keychain runs here; new secrets go to files in %s, readable by this user only\n",
                     qPrintable(SecretStore::defaultDir()));
    else if (const QString advice = egress::keychainAdvice(status); !advice.isEmpty())
        std::fprintf(stderr, "airlockctl: note: %s\n", qPrintable(advice));
    if (all->isEmpty()) {
        out(QStringLiteral("no secrets stored (airlockctl secrets set NAME)"));
        return Ok;
    }
    out(QStringLiteral("%1  %2  %3").arg(QStringLiteral("NAME"), -20).arg(QStringLiteral("PLACE"), -8).arg(QStringLiteral("UPDATED")));
    for (const auto &s : std::as_const(*all))
        out(QStringLiteral("%1  %2  %3").arg(s.name, -20).arg(egress::nameOf(s.place), -8)
                .arg(QDateTime::fromMSecsSinceEpoch(s.updated).toString(Qt::ISODate)));
    return Ok;
}

int remove(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Remove a stored secret from the keychain and the file store."));
    p.addPositionalArgument(QStringLiteral("name"), QStringLiteral("The secret's name."));
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().size() != 1)
        return error(QStringLiteral("secrets rm needs one name"), Usage);
    const QString name = p.positionalArguments().first();
    SecretStore store;
    auto removed = store.remove(name);
    if (!removed)
        return error(removed.error());
    if (!*removed)
        return error(QStringLiteral("no secret named %1").arg(name));
    out(QStringLiteral("removed %1").arg(name));
    return Ok;
}

} // namespace

static int runSecrets(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("set")) return set(ctx);
    if (verb == QLatin1String("list")) return list(ctx);
    if (verb == QLatin1String("rm") || verb == QLatin1String("remove")) return remove(ctx);
    return error(QStringLiteral("unknown command 'secrets %1'").arg(verb), Usage);
}

AIRLOCKCTL_GROUP({QStringLiteral("secrets"), {QStringLiteral("set"), QStringLiteral("list"), QStringLiteral("rm"), QStringLiteral("remove")},
                  runSecrets,
                  "  secrets set NAME [--file|--keychain]        store a credential (from stdin) for the proxy to inject\n"
                  "  secrets list [--json]                       stored secrets by name, never their values\n"
                  "  secrets rm NAME                             remove one\n",
                  45});

} // namespace airlock::cli
