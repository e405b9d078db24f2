#include "agentcatalogue.h"

#include "store/event.h"
#include "store/schema.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

namespace airlock::agent {

namespace {

QByteArray toJsonText(const QStringList &list)
{
    return QJsonDocument(QJsonArray::fromStringList(list)).toJson(QJsonDocument::Compact);
}

// The table's JSON columns are checked by SQLite to be JSON, not to be lists of strings.
QStringList fromJsonText(const QByteArray &text)
{
    QStringList out;
    const QJsonArray array = QJsonDocument::fromJson(text).array();
    for (const QJsonValue &v : array)
        if (v.isString())
            out.append(v.toString());
    return out;
}

bool isEnvPattern(const QString &s)
{
    static const QRegularExpression re(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*\\*?$"));
    return re.match(s).hasMatch();
}

} // namespace

QString nameOf(Placement placement)
{
    return placement == Placement::Host ? QStringLiteral("host") : QStringLiteral("sandbox");
}

std::optional<Placement> placementFrom(const QString &name)
{
    if (name == QLatin1String("sandbox"))
        return Placement::Sandbox;
    if (name == QLatin1String("host"))
        return Placement::Host;
    return std::nullopt;
}

Result<void> validateProfile(const AgentProfile &p)
{
    if (!store::isValidPolicyName(p.name))
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("'%1' is not an agent name: use letters, digits, '-', '_' and '.', at most %2 "
                                   "characters")
                        .arg(p.name.left(80))
                        .arg(store::kMaxSessionIdLength));
    if (p.command.trimmed().isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the agent %1 needs a command to run").arg(p.name));
    if (p.command.contains(QChar(0)) || std::any_of(p.args.begin(), p.args.end(), [](const QString &a) {
            return a.contains(QChar(0));
        }))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the command of %1 contains a NUL character").arg(p.name));
    for (const QString &e : p.envAllow)
        if (!isEnvPattern(e))
            return fail(ErrorCode::InvalidArgument,
                        QStringLiteral("'%1' is not an environment variable name (letters, digits and '_', "
                                       "optionally ending in '*' for a prefix)")
                            .arg(e.left(80)));
    if (!p.defaultPolicy.isEmpty() && !store::isValidPolicyName(p.defaultPolicy))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a policy name").arg(p.defaultPolicy.left(80)));
    return {};
}

Result<AgentCatalogue> AgentCatalogue::open(const QString &dbPath)
{
    auto db = store::openDatabase(dbPath);
    if (!db)
        return std::unexpected(db.error());
    return AgentCatalogue(std::move(*db));
}

Result<QList<AgentProfile>> AgentCatalogue::stored()
{
    auto q = m_db.prepare("SELECT name, command, args, env_allow, placement, default_policy, created, updated "
                          "FROM agent_profiles ORDER BY name");
    if (!q)
        return std::unexpected(q.error());
    QList<AgentProfile> out;
    for (;;) {
        auto row = q->step();
        if (!row)
            return std::unexpected(row.error());
        if (!*row)
            break;
        AgentProfile p;
        p.name = q->columnText(0);
        p.title = p.name;
        p.command = q->columnText(1);
        p.args = fromJsonText(q->columnBytes(2));
        p.envAllow = fromJsonText(q->columnBytes(3));
        p.placement = placementFrom(q->columnText(4)).value_or(Placement::Sandbox);
        p.defaultPolicy = q->columnIsNull(5) ? QString() : q->columnText(5);
        p.created = q->columnInt(6);
        p.updated = q->columnInt(7);
        p.description = QStringLiteral("Custom agent");
        out.append(p);
    }
    return out;
}

Result<QList<AgentProfile>> AgentCatalogue::list()
{
    auto mine = stored();
    if (!mine)
        return mine;
    QList<AgentProfile> out = presetProfiles();
    for (const AgentProfile &p : std::as_const(*mine)) {
        auto same = std::find_if(out.begin(), out.end(), [&](const AgentProfile &o) { return o.name == p.name; });
        if (same != out.end())
            *same = p;
        else
            out.append(p);
    }
    return out;
}

Result<std::optional<AgentProfile>> AgentCatalogue::find(const QString &name)
{
    auto all = list();
    if (!all)
        return std::unexpected(all.error());
    for (const AgentProfile &p : std::as_const(*all))
        if (p.name == name)
            return std::optional(p);
    // A preset's other name ("claude"), unless a stored agent has taken it.
    for (const AgentProfile &p : std::as_const(*all))
        if (p.aliases.contains(name))
            return std::optional(p);
    return std::optional<AgentProfile>();
}

Result<void> AgentCatalogue::save(const AgentProfile &profile, bool replace)
{
    if (auto ok = validateProfile(profile); !ok)
        return ok;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    // An upsert keeps `created`; a plain insert refuses a name that is taken.
    auto q = m_db.prepare(replace ? "INSERT INTO agent_profiles(name, command, args, env_allow, placement, "
                                    "default_policy, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
                                    "ON CONFLICT(name) DO UPDATE SET command = excluded.command, args = "
                                    "excluded.args, env_allow = excluded.env_allow, placement = excluded.placement, "
                                    "default_policy = excluded.default_policy, updated = excluded.updated"
                                  : "INSERT INTO agent_profiles(name, command, args, env_allow, placement, "
                                    "default_policy, created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
                                    "ON CONFLICT(name) DO NOTHING");
    if (!q)
        return std::unexpected(q.error());
    q->bind(1, profile.name);
    q->bind(2, profile.command);
    q->bind(3, toJsonText(profile.args));
    q->bind(4, toJsonText(profile.envAllow));
    q->bind(5, nameOf(profile.placement));
    if (profile.defaultPolicy.isEmpty())
        q->bindNull(6);
    else
        q->bind(6, profile.defaultPolicy);
    q->bind(7, now);
    if (auto r = q->run(); !r)
        return r;
    auto changed = m_db.queryInt("SELECT changes()");
    if (!changed)
        return std::unexpected(changed.error());
    if (*changed == 0)
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("an agent named %1 is already stored; remove it first or replace it").arg(profile.name));
    return {};
}

Result<bool> AgentCatalogue::remove(const QString &name)
{
    auto q = m_db.prepare("DELETE FROM agent_profiles WHERE name = ?1");
    if (!q)
        return std::unexpected(q.error());
    q->bind(1, name);
    if (auto r = q->run(); !r)
        return std::unexpected(r.error());
    auto changed = m_db.queryInt("SELECT changes()");
    if (!changed)
        return std::unexpected(changed.error());
    return *changed > 0;
}

} // namespace airlock::agent
