// exportSessionMarkdown: the session as a document people read. Event kinds other layers define
// (messages, tool calls, approvals) are recognised by shape, so the transcript stays readable as
// those layers grow; anything unknown is listed compactly rather than dropped.
#include "sessionexport.h"

#include "checkpoint.h"
#include "checkpointer.h"
#include "checkpointtree.h"
#include "store/storereader.h"

#include <QDateTime>
#include <QIODevice>
#include <QJsonArray>
#include <QJsonDocument>

#include <optional>

namespace airlock::workspace {

namespace {

class Writer
{
public:
    Writer(QIODevice *out) : m_out(out) {}
    void line(const QString &text = {}) { m_buffer += text.toUtf8() + '\n'; }
    Result<void> flush()
    {
        if (m_out->write(m_buffer) != m_buffer.size())
            return fail(ErrorCode::Io, QStringLiteral("cannot write the transcript: %1").arg(m_out->errorString()));
        m_buffer.clear();
        return {};
    }

private:
    QIODevice *m_out;
    QByteArray m_buffer;
};

// Text that came from an agent or a tool: no raw HTML reaches a Markdown viewer.
QString prose(const QString &text)
{
    QString t = text;
    t.replace(u'&', QStringLiteral("&amp;")).replace(u'<', QStringLiteral("&lt;")).replace(u'>', QStringLiteral("&gt;"));
    return t;
}

// A fenced block whose fence is longer than any backtick run inside, so content cannot close it.
QString fenced(const QString &text, const QString &info)
{
    int longest = 0, run = 0;
    for (QChar c : text) {
        run = c == u'`' ? run + 1 : 0;
        longest = std::max(longest, run);
    }
    const QString fence(std::max(3, longest + 1), u'`');
    QString body = text;
    if (!body.endsWith(u'\n'))
        body += u'\n';
    return fence + info + u'\n' + body + fence;
}

QString cut(const QString &text, qsizetype max)
{
    return text.size() <= max ? text : text.left(max) + QStringLiteral("\n… (%1 more characters)").arg(text.size() - max);
}

QString compact(const QJsonValue &v)
{
    if (v.isString())
        return v.toString();
    if (v.isObject())
        return QString::fromUtf8(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact));
    if (v.isArray())
        return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
    if (v.isDouble())
        return QString::number(v.toDouble());
    if (v.isBool())
        return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    return {};
}

QString firstString(const QJsonObject &p, std::initializer_list<const char *> keys)
{
    for (const char *k : keys) {
        const QJsonValue v = p.value(QLatin1String(k));
        if (v.isString() && !v.toString().isEmpty())
            return v.toString();
    }
    return {};
}

QString clock(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(QStringLiteral("HH:mm:ss"));
}

QString role(const QString &kind)
{
    const QString who = kind.section(u'.', 0, 0);
    if (who == QLatin1String("user"))
        return QStringLiteral("User");
    if (who == QLatin1String("agent") || who == QLatin1String("assistant"))
        return QStringLiteral("Agent");
    if (who == QLatin1String("system"))
        return QStringLiteral("System");
    return who.isEmpty() ? QStringLiteral("Message") : who.at(0).toUpper() + who.mid(1);
}

class Transcript
{
public:
    Transcript(const QString &dbPath, const QString &session, QIODevice *out, const TranscriptOptions &options)
        : m_db(dbPath), m_session(session), m_w(out), m_opt(options)
    {
    }

    void header(const store::SessionRow &s)
    {
        m_w.line(QStringLiteral("# ") + prose(s.title.isEmpty() ? s.id : s.title));
        m_w.line();
        m_w.line(QStringLiteral("| | |"));
        m_w.line(QStringLiteral("|---|---|"));
        auto row = [&](const char *name, const QString &value) {
            if (!value.isEmpty())
                m_w.line(QStringLiteral("| %1 | %2 |").arg(QLatin1String(name), prose(value).replace(u'|', QStringLiteral("\\|"))));
        };
        row("Session", QStringLiteral("`%1`").arg(s.id));
        row("Agent", s.agent);
        row("Policy", s.policy);
        row("Workspace", s.workspace.isEmpty() ? QString() : QStringLiteral("`%1`").arg(s.workspace));
        row("Forked from", s.parent.isEmpty() ? QString() : QStringLiteral("`%1`").arg(s.parent));
        row("Started", QDateTime::fromMSecsSinceEpoch(s.created, Qt::UTC).toString(Qt::ISODate));
        row("State", s.state);
        row("Events", QString::number(s.eventCount));
        m_w.line();
        m_w.line(QStringLiteral("## Transcript"));
    }

    void event(const store::Event &e)
    {
        const QString &k = e.kind;
        const QJsonObject &p = e.payload;
        m_w.line();
        if (k == QLatin1String(store::kinds::SessionCreated)) {
            m_w.line(QStringLiteral("*%1 · session started*").arg(clock(e.time)));
        } else if (k == QLatin1String(store::kinds::SessionState)) {
            m_w.line(QStringLiteral("*%1 · %2*").arg(clock(e.time), prose(p.value(QStringLiteral("state")).toString())));
        } else if (k == QLatin1String(store::kinds::SessionRenamed)) {
            m_w.line(QStringLiteral("*%1 · renamed to “%2”*").arg(clock(e.time), prose(p.value(QStringLiteral("title")).toString())));
        } else if (k == QLatin1String(kinds::CheckpointCreated)) {
            checkpoint(e);
        } else if (k == QLatin1String(kinds::CheckpointRewound)) {
            m_w.line(QStringLiteral("### %1 · Rewound the workspace to `%2`").arg(clock(e.time), p.value(QStringLiteral("commit")).toString().left(8)));
            m_w.line();
            m_w.line(QStringLiteral("%1 files restored, %2 removed; checkpoint `%3` holds the state before.")
                         .arg(p.value(QStringLiteral("written")).toInt())
                         .arg(p.value(QStringLiteral("removed")).toInt())
                         .arg(p.value(QStringLiteral("safety")).toString().left(8)));
        } else if (k == QLatin1String(kinds::CheckpointFailed)) {
            m_w.line(QStringLiteral("> **Checkpoint failed** (%1): %2").arg(prose(p.value(QStringLiteral("cause")).toString()),
                                                                          prose(p.value(QStringLiteral("error")).toString())));
        } else if (k.endsWith(QLatin1String(".message")) || k.contains(QLatin1String("message"))) {
            m_w.line(QStringLiteral("### %1 · %2").arg(clock(e.time), role(k)));
            m_w.line();
            const QString text = firstString(p, {"text", "content", "message"});
            m_w.line(text.isEmpty() ? fenced(cut(compact(p), m_opt.maxFieldChars), QStringLiteral("json")) : prose(text));
        } else if (k.startsWith(QLatin1String("tool.")) || k.startsWith(QLatin1String("tool_call"))) {
            tool(e);
        } else if (k.startsWith(QLatin1String("approval")) || k.contains(QLatin1String("decision"))
                   || k.startsWith(QLatin1String("permission"))) {
            decision(e);
        } else {
            QString body = cut(compact(p), 300).simplified();
            m_w.line(QStringLiteral("- %1 `%2` %3").arg(clock(e.time), k, prose(body)));
        }
    }

    Result<void> flush() { return m_w.flush(); }

private:
    void tool(const store::Event &e)
    {
        const QJsonObject &p = e.payload;
        const QString title = firstString(p, {"title", "name", "tool"});
        const QString kind = firstString(p, {"kind"});
        QString head = QStringLiteral("### %1 · Tool call").arg(clock(e.time));
        if (!kind.isEmpty())
            head += QStringLiteral(" `%1`").arg(kind);
        if (!title.isEmpty())
            head += QStringLiteral(": ") + prose(title);
        if (e.kind != QLatin1String("tool.call"))
            head += QStringLiteral(" (%1)").arg(e.kind);
        m_w.line(head);
        const QString id = firstString(p, {"toolCallId", "id"});
        const QString status = firstString(p, {"status", "state"});
        if (!id.isEmpty() || !status.isEmpty()) {
            m_w.line();
            m_w.line(QStringLiteral("%1%2").arg(id.isEmpty() ? QString() : QStringLiteral("Call `%1`. ").arg(id),
                                                 status.isEmpty() ? QString() : QStringLiteral("Status: %1.").arg(prose(status))));
        }
        if (const QString command = firstString(p, {"command"}); !command.isEmpty()) {
            m_w.line();
            m_w.line(fenced(cut(command, m_opt.maxFieldChars), QStringLiteral("console")));
        }
        if (const QString path = firstString(p, {"path"}); !path.isEmpty()) {
            m_w.line();
            m_w.line(QStringLiteral("Path: `%1`").arg(path));
        }
        for (const char *key : {"input", "arguments", "rawInput", "output", "result", "rawOutput", "content"}) {
            const QJsonValue v = p.value(QLatin1String(key));
            if (v.isUndefined() || v.isNull())
                continue;
            m_w.line();
            m_w.line(QStringLiteral("%1:").arg(QLatin1String(key)));
            m_w.line(fenced(cut(compact(v), m_opt.maxFieldChars), v.isString() ? QString() : QStringLiteral("json")));
        }
    }

    void decision(const store::Event &e)
    {
        const QJsonObject &p = e.payload;
        if (e.kind.endsWith(QLatin1String(".requested"))) {
            const QJsonObject call = p.value(QStringLiteral("toolCall")).toObject();
            const QString what = firstString(call, {"title", "kind", "command"});
            QString text = QStringLiteral("> **%1 · Permission asked**").arg(clock(e.time));
            if (!what.isEmpty())
                text += QStringLiteral(" for %1").arg(prose(what));
            if (const QString why = firstString(p, {"explanation", "reason"}); !why.isEmpty())
                text += QStringLiteral(": ") + prose(why);
            m_w.line(text);
            return;
        }
        const QString verdict = firstString(p, {"decision", "verdict", "outcome", "answer"});
        const QString by = firstString(p, {"by", "user", "decidedBy"});
        const QJsonValue rule = p.value(QStringLiteral("rule"));
        QString text = QStringLiteral("> **%1 · Decision%2**").arg(clock(e.time), verdict.isEmpty() ? QString() : QStringLiteral(": ") + prose(verdict));
        if (!by.isEmpty())
            text += QStringLiteral(" by %1").arg(prose(by));
        if (!rule.isUndefined() && !rule.isNull())
            text += QStringLiteral(" (rule %1)").arg(prose(compact(rule)));
        if (const QString why = firstString(p, {"reason", "explanation"}); !why.isEmpty())
            text += QStringLiteral(": ") + prose(why);
        if (verdict.isEmpty())
            text += QStringLiteral(" `%1` %2").arg(e.kind, prose(cut(compact(p), 300).simplified()));
        m_w.line(text);
    }

    void checkpoint(const store::Event &e)
    {
        auto cp = checkpointFromEvent(e);
        if (!cp) {
            m_w.line(QStringLiteral("- %1 `%2` (unreadable)").arg(clock(e.time), e.kind));
            return;
        }
        m_w.line(QStringLiteral("### %1 · Checkpoint `%2` — %3").arg(clock(e.time), cp->shortId(),
                                                                     describeCause(cp->cause, cp->turn, cp->toolCallId)));
        if (!cp->label.isEmpty()) {
            m_w.line();
            m_w.line(prose(cp->label));
        }
        if (!cp->files.isEmpty()) {
            m_w.line();
            m_w.line(QStringLiteral("| File | Change | + | − |"));
            m_w.line(QStringLiteral("|---|---|---:|---:|"));
            for (const FileChange &f : std::as_const(cp->files)) {
                const QString name = f.oldPath.isEmpty() ? f.path : f.oldPath + QStringLiteral(" → ") + f.path;
                m_w.line(QStringLiteral("| `%1` | %2 | %3 | %4 |")
                             .arg(QString(name).replace(u'|', QStringLiteral("\\|")), nameOf(f.status),
                                  f.binary ? QStringLiteral("bin") : QString::number(f.added),
                                  f.binary ? QStringLiteral("bin") : QString::number(f.removed)));
            }
            if (cp->filesTruncated())
                m_w.line(QStringLiteral("\n… and %1 more files.").arg(cp->filesTotal - cp->files.size()));
        }
        if (!cp->skipped.isEmpty()) {
            m_w.line();
            QStringList names;
            for (const SkippedFile &s : std::as_const(cp->skipped).mid(0, 20))
                names.append(QStringLiteral("`%1` (%2)").arg(s.path, s.reason));
            m_w.line(QStringLiteral("Not saved: %1%2").arg(names.join(QStringLiteral(", ")),
                                                            cp->skippedTotal > 20 ? QStringLiteral(" …") : QString()));
        }
        if (!m_opt.diffs || cp->files.isEmpty() || cp->cause == Cause::Fork || m_noSnapshots)
            return;
        DiffOptions opts;
        opts.maxPatchBytes = m_opt.maxDiffBytes;
        if (!m_tree) {
            auto tree = loadCheckpointTree(m_db, m_session);
            if (!tree) {
                m_noSnapshots = true;
                m_w.line();
                m_w.line(QStringLiteral("*(diff not available: %1)*").arg(prose(tree.error().message)));
                return;
            }
            m_tree = std::move(*tree);
        }
        const int node = m_tree->find(m_session, cp->commit);
        auto diff = node < 0 ? Result<CheckpointDiff>(fail(ErrorCode::NotFound, QStringLiteral("not in the history")))
                             : diffCheckpoints(m_db, *m_tree, node, m_tree->nodes[node].parent, opts);
        if (!diff) {
            if (diff.error().code == ErrorCode::NotFound)
                m_noSnapshots = true; // an imported session: say it once
            m_w.line();
            m_w.line(QStringLiteral("*(diff not available: %1)*").arg(prose(diff.error().message)));
            return;
        }
        QString patch;
        bool truncated = false;
        for (const FileDiff &f : std::as_const(diff->files)) {
            if (patch.size() + f.patch.size() > m_opt.maxDiffBytes) {
                truncated = true;
                break;
            }
            patch += f.patch;
            truncated = truncated || f.patchTruncated;
        }
        if (!patch.isEmpty()) {
            m_w.line();
            m_w.line(fenced(patch, QStringLiteral("diff")));
        }
        if (truncated)
            m_w.line(QStringLiteral("*(diff shortened; `airlockctl checkpoints diff --session %1 %2` shows it whole)*")
                         .arg(m_session, cp->shortId()));
    }

    QString m_db;
    QString m_session;
    Writer m_w;
    TranscriptOptions m_opt;
    bool m_noSnapshots = false;
    std::optional<CheckpointTree> m_tree; // loaded once, for every checkpoint's diff
};

} // namespace

Result<void> exportSessionMarkdown(const QString &dbPath, const QString &session, QIODevice *out,
                                   const TranscriptOptions &options)
{
    auto reader = store::StoreReader::open(dbPath);
    if (!reader)
        return std::unexpected(reader.error());
    auto row = reader->existingSession(session);
    if (!row)
        return std::unexpected(row.error());
    Transcript t(dbPath, session, out, options);
    t.header(*row);
    qint64 after = 0;
    for (;;) {
        auto page = reader->events(store::EventQuery{session, after, 500, false, {}, 0});
        if (!page)
            return std::unexpected(page.error());
        bool done = page->size() < 500;
        for (const store::Event &e : std::as_const(*page)) {
            if (options.uptoSeq > 0 && e.seq > options.uptoSeq) {
                done = true;
                break;
            }
            t.event(e);
            after = e.seq;
        }
        if (auto f = t.flush(); !f)
            return f;
        if (done)
            break;
    }
    return {};
}

} // namespace airlock::workspace
