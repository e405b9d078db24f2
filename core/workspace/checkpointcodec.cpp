#include "checkpoint.h"

#include <QDateTime>
#include <QJsonArray>

namespace airlock::workspace {

namespace {

constexpr std::pair<Cause, const char *> kCauses[] = {
    {Cause::Start, "start"}, {Cause::Turn, "turn"},     {Cause::ToolCall, "tool"},
    {Cause::Manual, "manual"}, {Cause::Safety, "safety"}, {Cause::Fork, "fork"},
};
constexpr std::pair<FileStatus, const char *> kStatuses[] = {
    {FileStatus::Added, "added"},         {FileStatus::Deleted, "deleted"},
    {FileStatus::Modified, "modified"},   {FileStatus::Renamed, "renamed"},
    {FileStatus::TypeChanged, "typechange"}, {FileStatus::Skipped, "skipped"},
};

QJsonValue orNull(const QString &s)
{
    return s.isEmpty() ? QJsonValue() : QJsonValue(s);
}

bool isHex40(const QString &s)
{
    if (s.size() != 40)
        return false;
    for (QChar c : s)
        if (!((c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f')))
            return false;
    return true;
}

quint32 parseMode(const QJsonValue &v)
{
    bool ok = false;
    const quint32 m = v.toString().toUInt(&ok, 8);
    return ok ? m : 0;
}

} // namespace

QString nameOf(Cause cause)
{
    for (const auto &[c, n] : kCauses)
        if (c == cause)
            return QLatin1String(n);
    return {};
}

std::optional<Cause> parseCause(QStringView name)
{
    for (const auto &[c, n] : kCauses)
        if (name == QLatin1String(n))
            return c;
    return std::nullopt;
}

QString describeCause(Cause cause, int turn, const QString &toolCallId)
{
    QString text;
    switch (cause) {
    case Cause::Start: text = QStringLiteral("session start"); break;
    case Cause::Turn: text = QStringLiteral("after turn"); break;
    case Cause::ToolCall:
        text = toolCallId.isEmpty() ? QStringLiteral("after a tool call") : QStringLiteral("after tool call %1").arg(toolCallId);
        break;
    case Cause::Manual: text = QStringLiteral("on demand"); break;
    case Cause::Safety: text = QStringLiteral("safety copy"); break;
    case Cause::Fork: text = QStringLiteral("fork"); break;
    }
    if (turn >= 0)
        text += cause == Cause::Turn ? QStringLiteral(" %1").arg(turn) : QStringLiteral(" (turn %1)").arg(turn);
    return text;
}

QString nameOf(FileStatus status)
{
    for (const auto &[s, n] : kStatuses)
        if (s == status)
            return QLatin1String(n);
    return {};
}

std::optional<FileStatus> parseFileStatus(QStringView name)
{
    for (const auto &[s, n] : kStatuses)
        if (name == QLatin1String(n))
            return s;
    return std::nullopt;
}

QChar statusLetter(FileStatus status)
{
    switch (status) {
    case FileStatus::Added: return u'A';
    case FileStatus::Deleted: return u'D';
    case FileStatus::Modified: return u'M';
    case FileStatus::Renamed: return u'R';
    case FileStatus::TypeChanged: return u'T';
    case FileStatus::Skipped: return u'S';
    }
    return u'?';
}

QString modeString(quint32 mode)
{
    return QString::number(mode, 8).rightJustified(6, u'0');
}

QJsonObject toJson(const FileChange &f)
{
    QJsonObject o{{QStringLiteral("path"), f.path},
                  {QStringLiteral("status"), nameOf(f.status)},
                  {QStringLiteral("added"), f.added},
                  {QStringLiteral("removed"), f.removed}};
    if (!f.oldPath.isEmpty())
        o.insert(QStringLiteral("oldPath"), f.oldPath);
    if (f.binary)
        o.insert(QStringLiteral("binary"), true);
    if (f.oldMode && f.newMode && f.oldMode != f.newMode) {
        o.insert(QStringLiteral("oldMode"), modeString(f.oldMode));
        o.insert(QStringLiteral("newMode"), modeString(f.newMode));
    }
    return o;
}

QJsonObject toPayload(const Checkpoint &c)
{
    QJsonArray files;
    for (const FileChange &f : c.files)
        files.append(toJson(f));
    QJsonArray skipped;
    for (const SkippedFile &s : c.skipped)
        skipped.append(QJsonObject{{QStringLiteral("path"), s.path},
                                   {QStringLiteral("size"), s.size},
                                   {QStringLiteral("reason"), s.reason}});
    QJsonObject o{
        {QStringLiteral("commit"), c.commit},
        {QStringLiteral("parent"), orNull(c.parent)},
        {QStringLiteral("tree"), c.tree},
        {QStringLiteral("afterSeq"), c.afterSeq},
        {QStringLiteral("cause"), nameOf(c.cause)},
        {QStringLiteral("turn"), c.turn >= 0 ? QJsonValue(c.turn) : QJsonValue()},
        {QStringLiteral("toolCallId"), orNull(c.toolCallId)},
        {QStringLiteral("files"), files},
        {QStringLiteral("filesTotal"), c.filesTotal},
        {QStringLiteral("linesAdded"), c.linesAdded},
        {QStringLiteral("linesRemoved"), c.linesRemoved},
        {QStringLiteral("skipped"), skipped},
        {QStringLiteral("skippedTotal"), c.skippedTotal},
        {QStringLiteral("workspace"), orNull(c.workspace)},
        {QStringLiteral("durationMs"), c.durationMs},
    };
    if (!c.label.isEmpty())
        o.insert(QStringLiteral("label"), c.label);
    if (!c.fromSession.isEmpty())
        o.insert(QStringLiteral("fromSession"), c.fromSession);
    if (c.protectedEntries)
        o.insert(QStringLiteral("protectedEntries"), QJsonArray::fromStringList(*c.protectedEntries));
    return o;
}

QJsonObject toJson(const Checkpoint &c)
{
    QJsonObject o = toPayload(c);
    o.insert(QStringLiteral("session"), c.session);
    o.insert(QStringLiteral("seq"), c.seq);
    o.insert(QStringLiteral("time"), QDateTime::fromMSecsSinceEpoch(c.time, Qt::UTC).toString(Qt::ISODateWithMs));
    return o;
}

Result<Checkpoint> checkpointFromEvent(const store::Event &e)
{
    const QJsonObject &p = e.payload;
    auto bad = [&](const char *what) {
        return fail(ErrorCode::InvalidArgument,
                    QStringLiteral("event %1 is not a valid checkpoint: %2").arg(e.seq).arg(QLatin1String(what)));
    };
    Checkpoint c;
    c.session = e.session;
    c.seq = e.seq;
    c.time = e.time;
    c.commit = p.value(QStringLiteral("commit")).toString();
    if (!isHex40(c.commit))
        return bad("'commit' must be 40 lower-case hex digits");
    c.parent = p.value(QStringLiteral("parent")).toString();
    if (!c.parent.isEmpty() && !isHex40(c.parent))
        return bad("'parent' must be 40 lower-case hex digits or null");
    c.tree = p.value(QStringLiteral("tree")).toString();
    auto cause = parseCause(p.value(QStringLiteral("cause")).toString());
    if (!cause)
        return bad("unknown 'cause'");
    c.cause = *cause;
    c.afterSeq = p.value(QStringLiteral("afterSeq")).toInteger();
    c.turn = p.value(QStringLiteral("turn")).isDouble() ? p.value(QStringLiteral("turn")).toInt() : -1;
    c.toolCallId = p.value(QStringLiteral("toolCallId")).toString();
    c.label = p.value(QStringLiteral("label")).toString();
    c.workspace = p.value(QStringLiteral("workspace")).toString();
    c.fromSession = p.value(QStringLiteral("fromSession")).toString();
    c.filesTotal = p.value(QStringLiteral("filesTotal")).toInt();
    c.linesAdded = p.value(QStringLiteral("linesAdded")).toInt();
    c.linesRemoved = p.value(QStringLiteral("linesRemoved")).toInt();
    c.skippedTotal = p.value(QStringLiteral("skippedTotal")).toInt();
    c.durationMs = p.value(QStringLiteral("durationMs")).toInteger();
    if (const QJsonValue entries = p.value(QStringLiteral("protectedEntries")); entries.isArray()) {
        QStringList list;
        for (const QJsonValue &v : entries.toArray())
            list.append(v.toString());
        c.protectedEntries = list;
    }
    const QJsonArray files = p.value(QStringLiteral("files")).toArray();
    for (const QJsonValue &v : files) {
        const QJsonObject f = v.toObject();
        FileChange fc;
        fc.path = f.value(QStringLiteral("path")).toString();
        auto status = parseFileStatus(f.value(QStringLiteral("status")).toString());
        if (fc.path.isEmpty() || !status)
            return bad("a file without a path or with an unknown status");
        fc.status = *status;
        fc.oldPath = f.value(QStringLiteral("oldPath")).toString();
        fc.added = f.value(QStringLiteral("added")).toInt();
        fc.removed = f.value(QStringLiteral("removed")).toInt();
        fc.binary = f.value(QStringLiteral("binary")).toBool();
        fc.oldMode = parseMode(f.value(QStringLiteral("oldMode")));
        fc.newMode = parseMode(f.value(QStringLiteral("newMode")));
        c.files.append(fc);
    }
    const QJsonArray skipped = p.value(QStringLiteral("skipped")).toArray();
    for (const QJsonValue &v : skipped) {
        const QJsonObject s = v.toObject();
        c.skipped.append(SkippedFile{s.value(QStringLiteral("path")).toString(),
                                     s.value(QStringLiteral("size")).toInteger(),
                                     s.value(QStringLiteral("reason")).toString()});
    }
    c.filesTotal = std::max<int>(c.filesTotal, int(c.files.size()));
    c.skippedTotal = std::max<int>(c.skippedTotal, int(c.skipped.size()));
    return c;
}

Result<RewindRecord> rewindFromEvent(const store::Event &e)
{
    RewindRecord r;
    r.session = e.session;
    r.seq = e.seq;
    r.time = e.time;
    r.commit = e.payload.value(QStringLiteral("commit")).toString();
    r.safety = e.payload.value(QStringLiteral("safety")).toString();
    r.written = e.payload.value(QStringLiteral("written")).toInt();
    r.removed = e.payload.value(QStringLiteral("removed")).toInt();
    for (const QJsonValue &v : e.payload.value(QStringLiteral("protectedRemoved")).toArray())
        r.protectedRemoved.append(v.toString());
    if (!isHex40(r.commit))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("event %1 is not a valid rewind record").arg(e.seq));
    return r;
}

} // namespace airlock::workspace
