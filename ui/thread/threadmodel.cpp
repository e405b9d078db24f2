#include "threadmodel.h"

#include "session/requestedcall.h"
#include "text/inerttext.h"
#include "plaintext.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace airlock::ui {

namespace {

QString cut(const QString &text, qsizetype max)
{
    if (text.size() <= max)
        return text;
    return text.left(max) + QStringLiteral("\n… (%1 more characters in the store)").arg(text.size() - max);
}

// The text of ACP content: a content block, a list of them, or tool call content entries.
QString contentText(const QJsonValue &v)
{
    if (v.isArray()) {
        QStringList parts;
        for (const QJsonValue &x : v.toArray())
            parts << contentText(x);
        parts.removeAll(QString());
        return parts.join(u'\n');
    }
    const QJsonObject o = v.toObject();
    const QString type = o.value(QStringLiteral("type")).toString();
    if (type == QLatin1String("text"))
        return o.value(QStringLiteral("text")).toString();
    if (type == QLatin1String("content"))
        return contentText(o.value(QStringLiteral("content")));
    if (type == QLatin1String("diff"))
        return QStringLiteral("diff %1").arg(o.value(QStringLiteral("path")).toString());
    if (type == QLatin1String("terminal"))
        return QStringLiteral("terminal %1").arg(o.value(QStringLiteral("terminalId")).toString());
    if (type == QLatin1String("resource_link"))
        return o.value(QStringLiteral("uri")).toString();
    if (type == QLatin1String("image") || type == QLatin1String("audio"))
        return QStringLiteral("[%1]").arg(type);
    if (type == QLatin1String("resource"))
        return o.value(QStringLiteral("resource")).toObject().value(QStringLiteral("uri")).toString();
    return {};
}

QString pretty(const QJsonValue &v)
{
    if (v.isObject())
        return QString::fromUtf8(QJsonDocument(v.toObject()).toJson(QJsonDocument::Indented)).trimmed();
    if (v.isArray())
        return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Indented)).trimmed();
    return v.toVariant().toString();
}

QString planText(const QJsonArray &entries)
{
    QStringList lines;
    for (const QJsonValue &e : entries) {
        const QJsonObject o = e.toObject();
        const QString status = o.value(QStringLiteral("status")).toString();
        const QString box = status == QLatin1String("completed") ? QStringLiteral("☑")
            : status == QLatin1String("in_progress")            ? QStringLiteral("◐")
                                                                 : QStringLiteral("☐");
        lines << box + u' ' + o.value(QStringLiteral("content")).toString();
    }
    return lines.join(u'\n');
}

QString toolDetail(const QJsonObject &call)
{
    QStringList parts;
    if (call.contains(QStringLiteral("rawInput")))
        parts << QStringLiteral("Input:\n") + pretty(call.value(QStringLiteral("rawInput")));
    const QString content = contentText(call.value(QStringLiteral("content")));
    if (!content.isEmpty())
        parts << QStringLiteral("Output:\n") + content;
    if (call.contains(QStringLiteral("rawOutput")) && content.isEmpty())
        parts << QStringLiteral("Output:\n") + pretty(call.value(QStringLiteral("rawOutput")));
    QStringList where;
    for (const QJsonValue &l : call.value(QStringLiteral("locations")).toArray())
        where << l.toObject().value(QStringLiteral("path")).toString();
    if (!where.isEmpty())
        parts << QStringLiteral("Files: ") + where.join(QStringLiteral(", "));
    return parts.join(QStringLiteral("\n\n"));
}

} // namespace

// What one delivery changes: rows edited in place (a span) and rows to insert at the end.
struct ThreadModel::Batch {
    int oldCount = 0;
    int firstChanged = -1, lastChanged = -1;
    QList<ThreadItem> added;
};

ThreadModel::ThreadModel(QObject *parent) : QAbstractListModel(parent) {}

int ThreadModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_items.size());
}

Qt::ItemFlags ThreadModel::flags(const QModelIndex &index) const
{
    return index.isValid() ? Qt::ItemIsEnabled | Qt::ItemIsSelectable : Qt::NoItemFlags;
}

QVariant ThreadModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ThreadItem &it = m_items.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (it.kind) {
        case ThreadItem::UserMessage:
        case ThreadItem::AgentMessage:
        case ThreadItem::Thought: return text::inertText(it.text);
        default: return text::inertLine(it.title);
        }
    case Qt::ToolTipRole: return it.detail.isEmpty() ? QVariant() : QVariant(ui::plainToolTip(it.detail.left(2000)));
    case Qt::AccessibleTextRole: {
        static const char *names[] = {"You", "Agent", "Thought", "Tool call", "Plan", "Permission", "Notice"};
        return QStringLiteral("%1: %2 %3").arg(QString::fromLatin1(names[it.kind]), text::inertLine(it.title),
                                               text::inertText(it.text.left(200)));
    }
    case KindRole: return int(it.kind);
    // The text roles are what views show: inert, like everything from an agent.
    case TitleRole: return text::inertLine(it.title);
    case TextRole: return text::inertText(it.text);
    case ToolKindRole: return text::inertLine(it.toolKind);
    case StatusRole: return text::inertLine(it.status);
    case DetailRole: return text::inertText(it.detail);
    case WarningRole: return it.warning;
    case ExpandedRole: return it.expanded;
    case DurationRole: return it.endTime > 0 ? QVariant(it.endTime - it.startTime) : QVariant();
    case SeqRole: return it.lastSeq;
    }
    return {};
}

bool ThreadModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (role != ExpandedRole || !checkIndex(index, CheckIndexOption::IndexIsValid))
        return false;
    m_items[index.row()].expanded = value.toBool();
    Q_EMIT dataChanged(index, index, {ExpandedRole});
    return true;
}

void ThreadModel::setSession(const QString &session)
{
    beginResetModel();
    m_session = session;
    m_items.clear();
    m_toolRows.clear();
    m_permissionRows.clear();
    m_planRow = m_openMessageRow = m_silenceRow = m_logRow = -1;
    m_logLines = 0;
    m_lastSeq = 0;
    m_firstSeq = 0;
    endResetModel();
}

void ThreadModel::setHistory(const QString &session, const QList<store::Event> &events)
{
    if (session != m_session)
        return; // a late answer for a session no longer shown
    setSession(session);
    append(session, events);
}

void ThreadModel::append(const QString &session, const QList<store::Event> &events)
{
    if (session != m_session)
        return;
    Batch batch;
    batch.oldCount = int(m_items.size());
    for (const store::Event &e : events) {
        if (e.seq <= m_lastSeq)
            continue; // already folded (history and live delivery may overlap)
        fold(batch, e);
        if (m_firstSeq == 0)
            m_firstSeq = e.seq;
        m_lastSeq = e.seq;
    }
    apply(batch);
}

ThreadItem &ThreadModel::at(Batch &batch, int row)
{
    if (row >= batch.oldCount)
        return batch.added[row - batch.oldCount];
    batch.firstChanged = batch.firstChanged < 0 ? row : std::min(batch.firstChanged, row);
    batch.lastChanged = std::max(batch.lastChanged, row);
    return m_items[row];
}

int ThreadModel::addItem(Batch &batch, ThreadItem item)
{
    batch.added.append(std::move(item));
    return batch.oldCount + int(batch.added.size()) - 1;
}

void ThreadModel::apply(Batch &batch)
{
    if (batch.firstChanged >= 0)
        Q_EMIT dataChanged(index(batch.firstChanged), index(batch.lastChanged));
    if (batch.added.isEmpty())
        return;
    beginInsertRows({}, batch.oldCount, batch.oldCount + int(batch.added.size()) - 1);
    m_items.append(std::move(batch.added));
    endInsertRows();
}

void ThreadModel::fold(Batch &batch, const store::Event &e)
{
    const QJsonObject &p = e.payload;
    auto notice = [&](const QString &text, bool warning = false) {
        ThreadItem n;
        n.kind = ThreadItem::Notice;
        n.title = text;
        n.warning = warning;
        n.firstSeq = n.lastSeq = e.seq;
        n.startTime = e.time;
        addItem(batch, std::move(n));
    };
    const QString &k = e.kind;
    if (k == QLatin1String("agent.silent")) {
        // One live line that counts up while the agent stays silent, not a line per report.
        const qint64 seconds = p.value(QStringLiteral("seconds")).toInteger();
        const QString text = p.contains(QStringLiteral("limit"))
            ? tr("Agent silent for %1 s (stopped at %2 s)").arg(seconds).arg(p.value(QStringLiteral("limit")).toInteger())
            : tr("Agent silent for %1 s").arg(seconds);
        if (m_silenceRow >= 0) {
            ThreadItem &row = at(batch, m_silenceRow);
            row.title = text;
            row.lastSeq = e.seq;
            row.endTime = e.time;
            return;
        }
        notice(text, true);
        m_silenceRow = batch.oldCount + int(batch.added.size()) - 1;
        return;
    }
    if (k == QLatin1String("agent.log")) {
        // What the agent writes to stderr: one collapsed row per turn that gathers its lines (click to
        // read them), not a row per line between the conversation's.
        const QString line = p.value(QStringLiteral("line")).toString();
        if (m_logRow < 0) {
            notice(QString());
            m_logRow = batch.oldCount + int(batch.added.size()) - 1;
            m_logLines = 0;
        }
        ThreadItem &row = at(batch, m_logRow);
        ++m_logLines;
        row.detail = row.detail.isEmpty() ? line : row.detail + u'\n' + line;
        if (row.detail.size() > kMaxDetailChars)
            row.detail = row.detail.right(kMaxDetailChars);
        row.title = m_logLines == 1 ? tr("Agent log · 1 line · click to show or hide")
                                    : tr("Agent log · %1 lines · click to show or hide").arg(m_logLines);
        row.lastSeq = e.seq;
        row.endTime = e.time;
        return;
    }
    m_silenceRow = -1; // the agent spoke, or something else happened
    if (k == QLatin1String("agent.update")) {
        foldUpdate(batch, e, p.value(QStringLiteral("update")).toObject());
        return;
    }
    m_openMessageRow = -1; // anything else ends a run of chunks
    if (k == QLatin1String("turn.started")) {
        m_logRow = -1; // a new turn's log starts a row of its own
        ThreadItem m;
        m.kind = ThreadItem::UserMessage;
        m.text = cut(contentText(p.value(QStringLiteral("prompt"))), kMaxTextChars);
        m.firstSeq = m.lastSeq = e.seq;
        m.startTime = e.time;
        addItem(batch, std::move(m));
    } else if (k == QLatin1String("turn.ended")) {
        const QString reason = p.value(QStringLiteral("stopReason")).toString();
        const QString message = p.value(QStringLiteral("message")).toString();
        const bool bad = reason != QLatin1String("end_turn");
        notice(tr("Turn %1 ended: %2%3")
                   .arg(p.value(QStringLiteral("turn")).toInt())
                   .arg(reason, message.isEmpty() ? QString() : QStringLiteral(" — ") + message),
               bad && reason != QLatin1String("cancelled"));
    } else if (k == QLatin1String("session.state")) {
        const QString reason = p.value(QStringLiteral("reason")).toString();
        const QString state = p.value(QStringLiteral("state")).toString();
        notice(tr("Session %1%2").arg(state, reason.isEmpty() ? QString() : QStringLiteral(": ") + reason),
               state == QLatin1String("failed"));
    } else if (k == QLatin1String("model.failed")) {
        const int failures = p.value(QStringLiteral("failures")).toInt();
        notice(failures > 1 ? tr("%1 (%2 failed requests so far)").arg(p.value(QStringLiteral("message")).toString()).arg(failures)
                            : p.value(QStringLiteral("message")).toString(),
               true);
    } else if (k == QLatin1String("sandbox.progress")) {
        notice(p.value(QStringLiteral("text")).toString());
    } else if (k == QLatin1String("permission.requested")) {
        ThreadItem r;
        r.kind = ThreadItem::Permission;
        r.key = p.value(QStringLiteral("request")).toVariant().toString();
        const QJsonObject call = p.value(QStringLiteral("toolCall")).toObject();
        // What runs, with the agent's title as a label only.
        r.title = tr("Permission: %1").arg(session::summariseRequested(call));
        r.toolKind = call.value(QStringLiteral("kind")).toString();
        r.status = QStringLiteral("pending");
        r.detail = cut((session::describeRequested(call) << p.value(QStringLiteral("explanation")).toString()).join(u'\n'),
                       kMaxDetailChars);
        r.firstSeq = r.lastSeq = e.seq;
        r.startTime = e.time;
        const QString key = r.key; // read before the move below
        m_permissionRows.insert(key, addItem(batch, std::move(r)));
    } else if (k == QLatin1String("permission.decided")) {
        const QString key = p.value(QStringLiteral("request")).toVariant().toString();
        const int row = m_permissionRows.value(key, -1);
        const QString decision = p.value(QStringLiteral("decision")).toString();
        const QString by = p.value(QStringLiteral("by")).toString();
        const QString why = p.value(QStringLiteral("explanation")).toString();
        if (row < 0) {
            notice(tr("Permission %1 by %2: %3").arg(decision, by, why));
            return;
        }
        ThreadItem &r = at(batch, row);
        r.status = decision.isEmpty() ? QStringLiteral("cancelled") : decision;
        r.detail = cut(tr("%1 by %2%3").arg(decision, by, why.isEmpty() ? QString() : QStringLiteral(": ") + why),
                       kMaxDetailChars);
        r.lastSeq = e.seq;
        r.endTime = e.time;
    } else if (k == QLatin1String("tool.outside")) {
        const QString id = p.value(QStringLiteral("toolCallId")).toString();
        const int row = m_toolRows.value(id, -1);
        if (row >= 0)
            at(batch, row).warning = true;
        // Named by what it ran (older events carry only the id).
        QString what = p.value(QStringLiteral("command")).toString();
        if (what.isEmpty())
            what = p.value(QStringLiteral("title")).toString();
        if (what.isEmpty())
            what = id;
        notice(tr("Ran outside the sandbox: the agent's own %1 tool (%2) did not go through Airlock")
                   .arg(p.value(QStringLiteral("kind")).toString(), cut(what, 200)),
               true);
    } else if (k == QLatin1String("guardrail.tripped")) {
        notice(tr("Guardrail %1 reached (%2 of %3): the turn was cancelled")
                   .arg(p.value(QStringLiteral("guardrail")).toString())
                   .arg(p.value(QStringLiteral("value")).toVariant().toString(),
                        p.value(QStringLiteral("limit")).toVariant().toString()),
               true);
    } else if (k == QLatin1String("session.interrupted")) {
        notice(p.value(QStringLiteral("forced")).toBool()
                   ? tr("Interrupted again (%1): stopping at once").arg(p.value(QStringLiteral("reason")).toString())
                   : tr("Interrupted (%1): the turn is being cancelled").arg(p.value(QStringLiteral("reason")).toString()),
               true);
    } else if (k == QLatin1String("agent.error")) {
        notice(tr("Agent error: %1").arg(p.value(QStringLiteral("message")).toString()), true);
    } else if (k == QLatin1String("approval.rule")) {
        const QJsonObject rule = p.value(QStringLiteral("rule")).toObject();
        QString what = rule.value(QStringLiteral("kind")).toString();
        for (const char *field : {"command", "path", "domain"})
            if (rule.contains(QLatin1String(field)))
                what += QStringLiteral(" %1").arg(rule.value(QLatin1String(field)).toString());
        notice(p.value(QStringLiteral("action")).toString() == QLatin1String("removed")
                   ? tr("Session rule removed: %1 %2").arg(rule.value(QStringLiteral("decision")).toString(), what)
                   : tr("Session rule added by %1: %2 %3 for the rest of this session")
                         .arg(p.value(QStringLiteral("by")).toString(), rule.value(QStringLiteral("decision")).toString(), what));
    } else if (k == QLatin1String("session.created")) {
        notice(tr("Session created · policy %1 · agent %2")
                   .arg(p.value(QStringLiteral("policy")).toString(), p.value(QStringLiteral("agent")).toString()));
        // What fitting the policy to the agent changed (an image, a network opened to the model only).
        for (const QJsonValue &note : p.value(QStringLiteral("notes")).toArray())
            notice(note.toString());
    }
    // Other kinds (checkpoints, egress, sandbox) have their own docks.
}

void ThreadModel::foldUpdate(Batch &batch, const store::Event &e, const QJsonObject &u)
{
    const QString kind = u.value(QStringLiteral("sessionUpdate")).toString();
    const bool user = kind == QLatin1String("user_message_chunk");
    const bool agent = kind == QLatin1String("agent_message_chunk");
    const bool thought = kind == QLatin1String("agent_thought_chunk");
    if (user || agent || thought) {
        const ThreadItem::Kind want = user ? ThreadItem::UserMessage : agent ? ThreadItem::AgentMessage : ThreadItem::Thought;
        const QString text = contentText(u.value(QStringLiteral("content")));
        if (m_openMessageRow >= 0) {
            ThreadItem &open = at(batch, m_openMessageRow);
            if (open.kind == want) {
                if (open.text.size() < kMaxTextChars)
                    open.text = cut(open.text + text, kMaxTextChars);
                open.lastSeq = e.seq;
                return;
            }
        }
        ThreadItem m;
        m.kind = want;
        m.text = cut(text, kMaxTextChars);
        m.firstSeq = m.lastSeq = e.seq;
        m.startTime = e.time;
        m_openMessageRow = addItem(batch, std::move(m));
        return;
    }
    m_openMessageRow = -1;
    if (kind == QLatin1String("tool_call") || kind == QLatin1String("tool_call_update")) {
        const QString id = u.value(QStringLiteral("toolCallId")).toString();
        int row = m_toolRows.value(id, -1);
        if (row < 0) {
            ThreadItem t;
            t.kind = ThreadItem::ToolCall;
            t.key = id;
            t.status = QStringLiteral("pending");
            t.firstSeq = e.seq;
            t.startTime = e.time;
            row = addItem(batch, std::move(t));
            m_toolRows.insert(id, row);
        }
        // A repeated tool_call for a known id updates the same card, like an update does.
        ThreadItem &t = at(batch, row);
        if (u.contains(QStringLiteral("title")))
            t.title = u.value(QStringLiteral("title")).toString();
        if (u.contains(QStringLiteral("kind")))
            t.toolKind = u.value(QStringLiteral("kind")).toString();
        if (u.contains(QStringLiteral("status")))
            t.status = u.value(QStringLiteral("status")).toString();
        if (t.title.isEmpty())
            t.title = id;
        const QString detail = toolDetail(u);
        if (!detail.isEmpty())
            t.detail = cut(detail, kMaxDetailChars);
        if (t.status == QLatin1String("completed") || t.status == QLatin1String("failed"))
            t.endTime = e.time;
        t.lastSeq = e.seq;
    } else if (kind == QLatin1String("plan")) {
        const QString text = planText(u.value(QStringLiteral("entries")).toArray());
        if (m_planRow < 0) {
            ThreadItem plan;
            plan.kind = ThreadItem::Plan;
            plan.title = tr("Plan");
            plan.firstSeq = e.seq;
            plan.startTime = e.time;
            m_planRow = addItem(batch, std::move(plan));
        }
        ThreadItem &plan = at(batch, m_planRow);
        plan.text = text;
        plan.lastSeq = e.seq;
    } else if (kind == QLatin1String("usage_update") || kind == QLatin1String("available_commands_update")
               || kind == QLatin1String("current_mode_update") || kind == QLatin1String("config_option_update")
               || kind == QLatin1String("session_info_update")) {
        // Shown in the thread header and session list rather than as rows.
    } else {
        ThreadItem n;
        n.kind = ThreadItem::Notice;
        n.title = tr("Unknown update from the agent: %1").arg(kind.isEmpty() ? tr("(no sessionUpdate)") : kind);
        n.warning = true;
        n.firstSeq = n.lastSeq = e.seq;
        n.startTime = e.time;
        addItem(batch, std::move(n));
    }
}

} // namespace airlock::ui
