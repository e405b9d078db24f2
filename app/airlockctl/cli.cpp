#include "cli.h"

#include "session/sessionowner.h"
#include "store/schema.h"
#include "text/inerttext.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <map>
#include <unistd.h>

namespace airlock::cli {

bool parse(QCommandLineParser &parser, const Context &ctx, int *exit)
{
    parser.addHelpOption();
    if (!parser.parse(ctx.args)) {
        *exit = error(QStringLiteral("%1: %2 (see --help)").arg(ctx.command, parser.errorText()), Usage);
        return false;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        std::fputs(qPrintable(parser.helpText()), stdout);
        *exit = Ok;
        return false;
    }
    return true;
}

bool readTailOptions(const QCommandLineParser &parser, TailOptions *options, int *exit)
{
    bool ok = false;
    options->lines = parser.value(QStringLiteral("lines")).toInt(&ok);
    if (!ok || options->lines < 0 || options->lines > 1000000) {
        *exit = error(QStringLiteral("-n takes a number from 0 to 1000000"), Usage);
        return false;
    }
    options->json = parser.isSet(QStringLiteral("json"));
    options->session = parser.value(QStringLiteral("session"));
    if (!options->session.isEmpty() && !store::isValidSessionId(options->session)) {
        *exit = error(QStringLiteral("'%1' is not a session id").arg(options->session), Usage);
        return false;
    }
    return true;
}

namespace {

int g_signalPipe[2] = {-1, -1};

void writeSignal(int sig)
{
    const char c = static_cast<char>(sig);
    [[maybe_unused]] const ssize_t n = ::write(g_signalPipe[1], &c, 1);
}

// The self-pipe: a signal handler may only write(); the event loop reads and calls the handler.
class Interrupts : public QSocketNotifier
{
public:
    explicit Interrupts(std::function<void(int)> handler) : QSocketNotifier(g_signalPipe[0], QSocketNotifier::Read)
    {
        connect(this, &QSocketNotifier::activated, this, [handler = std::move(handler)] {
            char c = 0;
            if (::read(g_signalPipe[0], &c, 1) == 1)
                handler(c);
        });
        std::signal(SIGINT, writeSignal);
        std::signal(SIGTERM, writeSignal);
    }
    ~Interrupts() override
    {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
    }
};

} // namespace

std::unique_ptr<QObject> onInterrupt(std::function<void(int)> handler)
{
    if (g_signalPipe[0] < 0 && ::pipe2(g_signalPipe, O_CLOEXEC) != 0)
        return nullptr;
    return std::make_unique<Interrupts>(std::move(handler));
}

namespace {
QList<CommandGroup> &registry()
{
    static QList<CommandGroup> groups;
    return groups;
}
} // namespace

bool registerGroup(const CommandGroup &group)
{
    auto &r = registry();
    auto at = std::find_if(r.begin(), r.end(), [&](const CommandGroup &g) { return g.order > group.order; });
    r.insert(at, group);
    return true;
}

const QList<CommandGroup> &groups()
{
    return registry();
}

Result<void> prepareStore(const QString &dbPath)
{
    // Once per process. The connection stays open until the process ends: while one is open, the
    // readers and the writer that follow find the write-ahead log in place, instead of each closing
    // connection checkpointing it and deleting it, and the next one making it anew.
    static std::map<QString, store::Connection> prepared;
    if (prepared.contains(dbPath))
        return {};
    auto db = store::openDatabase(dbPath);
    if (!db)
        return std::unexpected(db.error());
    prepared.emplace(dbPath, std::move(*db));
    // Whoever looks next marks sessions whose process died as failed, so nothing lists them as
    // running; a store that cannot take the mark still reads.
    (void)session::reconcileOrphans(dbPath);
    return {};
}

Result<store::StoreReader> openReader(const QString &dbPath)
{
    if (auto r = prepareStore(dbPath); !r)
        return std::unexpected(r.error());
    return store::StoreReader::open(dbPath);
}

int error(const QString &message, int status)
{
    // One line, always, and inert: messages can quote what an agent sent.
    const QString line = text::inertLine(message.simplified());
    std::fprintf(stderr, "airlockctl: %s\n", qPrintable(line));
    return status;
}

int error(const Error &e)
{
    return error(e.message, e.code == ErrorCode::InvalidArgument ? Usage : Failed);
}

void out(const QString &line)
{
    // Every line airlockctl prints may carry text an agent chose (titles, messages, paths, plans).
    std::fputs(text::inertText(line).toUtf8().constData(), stdout);
    std::fputc('\n', stdout);
}

void outJson(const QJsonValue &value)
{
    QJsonDocument doc = value.isArray() ? QJsonDocument(value.toArray()) : QJsonDocument(value.toObject());
    std::fputs(text::inertJson(QString::fromUtf8(doc.toJson(QJsonDocument::Compact))).toUtf8().constData(), stdout);
    std::fputc('\n', stdout);
}

QString formatTime(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

QJsonObject eventToJson(const store::Event &e)
{
    return QJsonObject{
        {QStringLiteral("seq"), e.seq},
        {QStringLiteral("session"), e.session.isEmpty() ? QJsonValue() : QJsonValue(e.session)},
        {QStringLiteral("kind"), e.kind},
        {QStringLiteral("time"), QDateTime::fromMSecsSinceEpoch(e.time, Qt::UTC).toString(Qt::ISODateWithMs)},
        {QStringLiteral("payload"), e.payload},
    };
}

QJsonObject sessionToJson(const store::SessionRow &s)
{
    auto iso = [](qint64 ms) {
        return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
    };
    auto orNull = [](const QString &v) { return v.isEmpty() ? QJsonValue() : QJsonValue(v); };
    return QJsonObject{
        {QStringLiteral("id"), s.id},
        {QStringLiteral("title"), s.title},
        {QStringLiteral("state"), s.state},
        {QStringLiteral("agent"), orNull(s.agent)},
        {QStringLiteral("policy"), orNull(s.policy)},
        {QStringLiteral("workspace"), orNull(s.workspace)},
        {QStringLiteral("parent"), orNull(s.parent)},
        {QStringLiteral("created"), iso(s.created)},
        {QStringLiteral("updated"), iso(s.updated)},
        {QStringLiteral("events"), s.eventCount},
        {QStringLiteral("lastSeq"), s.lastSeq},
    };
}

} // namespace airlock::cli
