#include "cli.h"
#include "egress/egresslog.h"
#include "egress/egressrecord.h"
#include "store/eventstore.h"
#include "store/schema.h"
#include "store/storereader.h"

#include <QCoreApplication>
#include <QTimer>

namespace airlock::cli {

namespace {

using egress::EgressRecord;
using egress::RuntimeRule;

QString bytes(qint64 n)
{
    if (n < 10 * 1024)
        return QString::number(n) + QStringLiteral(" B");
    if (n < 10 * 1024 * 1024)
        return QString::number(n / 1024) + QStringLiteral(" KiB");
    return QString::number(n / (1024 * 1024)) + QStringLiteral(" MiB");
}

void printEgress(const store::Event &e, bool json)
{
    if (json) {
        outJson(eventToJson(e));
        return;
    }
    QString session = e.session.isEmpty() ? QStringLiteral("-") : e.session;
    if (auto r = EgressRecord::fromEvent(e)) {
        if (e.session.isEmpty() && !r->sandbox.isEmpty())
            session = QStringLiteral("sandbox:") + r->sandbox; // a sandbox of its own (exec, sandbox create)
        const QString host = r->host.contains(u':') ? QString(u'[' + r->host + u']') : r->host;
        const QString where = host + u':' + QString::number(r->port);
        QString line = QStringLiteral("%1  %2  %3  %4 %5  %6  up %7  down %8  %9 ms  %10")
                           .arg(formatTime(e.time), session, egress::verdictName(r->decision).toUpper().leftJustified(5), r->method,
                                where, r->status ? QString::number(r->status) : QStringLiteral("-"),
                                bytes(r->bytesUp), bytes(r->bytesDown))
                           .arg(r->durationMs)
                           .arg(r->rule);
        if (!r->secret.isEmpty())
            line += QStringLiteral("  credential %1").arg(r->secret);
        if (!r->error.isEmpty())
            line += QStringLiteral("  error: %1").arg(r->error);
        out(line);
        return;
    }
    if (auto rule = RuntimeRule::fromEvent(e)) {
        out(QStringLiteral("%1  %2  RULE   %3 %4%5")
                .arg(formatTime(e.time), session, egress::verdictName(rule->verdict), rule->pattern,
                     rule->origin.isEmpty() ? QString() : QStringLiteral("  (%1)").arg(rule->origin)));
        return;
    }
    out(QStringLiteral("%1  %2  %3  (unreadable payload)").arg(formatTime(e.time), session, e.kind));
}

int tail(const Context &ctx)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Print the newest egress decisions and runtime rules, then keep "
                                               "printing new ones as any process commits them."));
    p.addOption({QStringLiteral("session"), QStringLiteral("Only this session's egress."), QStringLiteral("ID")});
    p.addOption({{QStringLiteral("n"), QStringLiteral("lines")}, QStringLiteral("How many past entries (default 20)."),
                 QStringLiteral("N"), QStringLiteral("20")});
    p.addOption({QStringLiteral("no-follow"), QStringLiteral("Print the past entries and exit.")});
    p.addOption({QStringLiteral("json"), QStringLiteral("One JSON event a line.")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    TailOptions tail;
    if (!readTailOptions(p, &tail, &exit))
        return exit;
    const int n = tail.lines;
    const bool json = tail.json;
    const QString session = tail.session;

    if (auto db = store::openDatabase(ctx.dbPath); !db)
        return error(db.error());
    auto log = egress::EgressLog::open(ctx.dbPath);
    if (!log)
        return error(log.error());
    // The high-water mark first, so nothing committed between the two reads is lost.
    auto last = log->lastSeq();
    if (!last)
        return error(last.error());
    auto past = log->recent(session, n);
    if (!past)
        return error(past.error());
    qint64 seq = *last;
    for (const store::Event &e : std::as_const(*past)) {
        printEgress(e, json);
        seq = std::max(seq, e.seq);
    }
    std::fflush(stdout);
    if (p.isSet(QStringLiteral("no-follow")))
        return Ok;

    int status = Ok;
    qint64 dataVersion = -1;
    QTimer poll;
    QObject::connect(&poll, &QTimer::timeout, [&] {
        auto version = log->dataVersion();
        if (!version) {
            status = error(version.error());
            QCoreApplication::exit(status);
            return;
        }
        if (*version == dataVersion)
            return;
        dataVersion = *version;
        while (true) {
            auto events = log->after(seq, session);
            if (!events) {
                status = error(events.error());
                QCoreApplication::exit(status);
                return;
            }
            for (const store::Event &e : std::as_const(*events)) {
                printEgress(e, json);
                seq = e.seq;
            }
            if (events->size() < 1000)
                break;
        }
        std::fflush(stdout);
    });
    const auto interrupts = onInterrupt([](int) { QCoreApplication::exit(Ok); });
    if (!interrupts)
        return error(QStringLiteral("cannot set up signal handling"));
    poll.start(100);
    const int rc = QCoreApplication::exec();
    return status != Ok ? status : rc;
}

int addRule(const Context &ctx, egress::Verdict verdict)
{
    QCommandLineParser p;
    const QString verb = egress::verdictName(verdict);
    p.setApplicationDescription(
        QStringLiteral("%1 a host for one session's egress, at once in a running proxy and in the store.\n"
                       "HOST is a domain pattern: example.com, *.example.com or *, optionally with :PORT.")
            .arg(verdict == egress::Verdict::Allow ? QStringLiteral("Allow") : QStringLiteral("Deny")));
    p.addPositionalArgument(QStringLiteral("HOST"), QStringLiteral("The domain pattern."));
    p.addOption({QStringLiteral("session"), QStringLiteral("The session it applies to (required)."), QStringLiteral("ID")});
    p.addOption({QStringLiteral("note"), QStringLiteral("Why, for the log."), QStringLiteral("TEXT")});
    int exit = Ok;
    if (!parse(p, ctx, &exit))
        return exit;
    if (p.positionalArguments().size() != 1)
        return error(QStringLiteral("egress %1 needs one HOST").arg(verb), Usage);
    const QString session = p.value(QStringLiteral("session"));
    if (session.isEmpty())
        return error(QStringLiteral("egress %1 needs --session ID: runtime rules belong to one session").arg(verb), Usage);
    if (!store::isValidSessionId(session))
        return error(QStringLiteral("'%1' is not a session id").arg(session), Usage);
    auto pattern = RuntimeRule::normalizePattern(p.positionalArguments().first());
    if (!pattern)
        return error(pattern.error().message, Usage);

    auto reader = openReader(ctx.dbPath);
    if (!reader)
        return error(reader.error());
    auto known = reader->session(session);
    if (!known)
        return error(known.error());
    if (!*known)
        return error(QStringLiteral("there is no session %1 in %2 (see 'airlockctl sessions list')").arg(session, ctx.dbPath));

    RuntimeRule rule;
    rule.session = session;
    rule.verdict = verdict;
    rule.pattern = *pattern;
    rule.origin = QStringLiteral("airlockctl");
    rule.note = p.value(QStringLiteral("note"));
    auto store = store::EventStore::open(ctx.dbPath);
    if (!store)
        return error(store.error());
    if (auto r = (*store)->append(session, QString::fromLatin1(egress::kinds::Rule), rule.toJson()); !r)
        return error(r.error());
    if (auto r = (*store)->flush(); !r)
        return error(r.error());
    out(QStringLiteral("%1 %2 for session %3; a running proxy applies it to new connections").arg(verb, rule.pattern, session));
    return Ok;
}

} // namespace

static int runEgress(const QString &verb, const Context &ctx)
{
    if (verb == QLatin1String("tail"))
        return tail(ctx);
    if (verb == QLatin1String("allow"))
        return addRule(ctx, egress::Verdict::Allow);
    if (verb == QLatin1String("deny"))
        return addRule(ctx, egress::Verdict::Deny);
    return error(QStringLiteral("unknown command 'egress %1'").arg(verb), Usage);
}

AIRLOCKCTL_GROUP({QStringLiteral("egress"), {QStringLiteral("tail"), QStringLiteral("allow"), QStringLiteral("deny")},
                  runEgress,
                  "  egress tail [--session ID] [-n N] [--no-follow] [--json]\n"
                  "                                              print egress decisions, then follow new ones\n"
                  "  egress allow|deny HOST --session ID [--note TEXT]\n"
                  "                                              allow or deny a host for one session's egress\n",
                  30});

} // namespace airlock::cli
