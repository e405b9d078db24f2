// The ladder's result: names, ratios, its JSON form, the text table and where it is kept.
#include "ladder.h"

#include "store/maintenance.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>

namespace airlock::ladder {

namespace {

constexpr auto kNamespace = "ladder";
constexpr auto kKey = "last";

} // namespace

QString rungName(Rung rung)
{
    switch (rung) {
    case Rung::Host: return QStringLiteral("host");
    case Rung::Bubblewrap: return QStringLiteral("bubblewrap");
    case Rung::Docker: return QStringLiteral("docker");
    case Rung::Gvisor: return QStringLiteral("gvisor");
    }
    return {};
}

QString rungTitle(Rung rung)
{
    switch (rung) {
    case Rung::Host: return QStringLiteral("bare host");
    case Rung::Bubblewrap: return QStringLiteral("bubblewrap");
    case Rung::Docker: return QStringLiteral("Docker (runc)");
    case Rung::Gvisor: return QStringLiteral("gVisor (runsc)");
    }
    return {};
}

QString rungPreset(Rung rung)
{
    switch (rung) {
    case Rung::Host: return {};
    case Rung::Bubblewrap: return QStringLiteral("standard");
    case Rung::Docker: return QStringLiteral("hardened");
    case Rung::Gvisor: return QStringLiteral("gvisor");
    }
    return {};
}

std::optional<Rung> parseRung(QStringView name)
{
    for (Rung r : kAllRungs)
        if (rungName(r) == name)
            return r;
    return std::nullopt;
}

Rung rungOf(const policy::Runtime &runtime)
{
    if (runtime.backend != policy::Backend::Docker)
        return Rung::Bubblewrap;
    return runtime.dockerRuntime == policy::DockerRuntime::Runsc ? Rung::Gvisor : Rung::Docker;
}

QString workloadName(Workload workload)
{
    switch (workload) {
    case Workload::ColdStart: return QStringLiteral("cold-start");
    case Workload::WarmExec: return QStringLiteral("warm-exec");
    case Workload::Files: return QStringLiteral("files");
    case Workload::Cpu: return QStringLiteral("cpu");
    }
    return {};
}

QString workloadTitle(Workload workload)
{
    switch (workload) {
    case Workload::ColdStart: return QStringLiteral("cold start");
    case Workload::WarmExec: return QStringLiteral("warm exec");
    case Workload::Files: return QStringLiteral("small files");
    case Workload::Cpu: return QStringLiteral("CPU");
    }
    return {};
}

const RungResult *LadderResult::rung(Rung r) const
{
    for (const RungResult &each : rungs)
        if (each.rung == r)
            return &each;
    return nullptr;
}

std::optional<double> LadderResult::medianMs(Rung r, Workload w) const
{
    const RungResult *found = rung(r);
    return found ? found->medianMs[static_cast<int>(w)] : std::nullopt;
}

std::optional<double> LadderResult::ratio(Rung r, Workload w) const
{
    const auto value = medianMs(r, w);
    const auto host = medianMs(Rung::Host, w);
    if (!value || !host || *host <= 0)
        return std::nullopt;
    return *value / *host;
}

QJsonObject LadderResult::toJson() const
{
    QJsonArray list;
    for (const RungResult &r : rungs) {
        QJsonObject o{{QStringLiteral("rung"), rungName(r.rung)}};
        if (!r.skipped.isEmpty())
            o.insert(QStringLiteral("skipped"), r.skipped);
        QJsonObject medians;
        for (Workload w : kAllWorkloads)
            if (const auto ms = r.medianMs[static_cast<int>(w)])
                medians.insert(workloadName(w), *ms);
        o.insert(QStringLiteral("medianMs"), medians);
        list.append(o);
    }
    return {{QStringLiteral("measured"), measured.toUTC().toString(Qt::ISODateWithMs)},
            {QStringLiteral("machine"), machine},
            {QStringLiteral("files"), files},
            {QStringLiteral("rungs"), list}};
}

Result<LadderResult> LadderResult::fromJson(const QJsonObject &object)
{
    LadderResult out;
    out.measured = QDateTime::fromString(object.value(QStringLiteral("measured")).toString(), Qt::ISODateWithMs);
    if (!out.measured.isValid())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the ladder result has no valid \"measured\" time"));
    out.machine = object.value(QStringLiteral("machine")).toString();
    out.files = object.value(QStringLiteral("files")).toInt();
    const QJsonValue rungs = object.value(QStringLiteral("rungs"));
    if (!rungs.isArray())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the ladder result has no \"rungs\" list"));
    for (const QJsonValue &value : rungs.toArray()) {
        const QJsonObject o = value.toObject();
        const auto rung = parseRung(o.value(QStringLiteral("rung")).toString());
        if (!rung)
            return fail(ErrorCode::InvalidArgument, QStringLiteral("the ladder result names an unknown rung \"%1\"")
                                                        .arg(o.value(QStringLiteral("rung")).toString()));
        RungResult r;
        r.rung = *rung;
        r.skipped = o.value(QStringLiteral("skipped")).toString();
        const QJsonObject medians = o.value(QStringLiteral("medianMs")).toObject();
        for (Workload w : kAllWorkloads) {
            const QJsonValue ms = medians.value(workloadName(w));
            if (ms.isDouble() && std::isfinite(ms.toDouble()) && ms.toDouble() >= 0)
                r.medianMs[static_cast<int>(w)] = ms.toDouble();
        }
        out.rungs.append(r);
    }
    return out;
}

QString formatRatio(double ratio)
{
    if (ratio >= 10)
        return QStringLiteral("×%1").arg(std::round(ratio), 0, 'f', 0);
    return QStringLiteral("×%1").arg(ratio, 0, 'g', 2);
}

QString formatMs(double ms)
{
    if (ms >= 1000)
        return QStringLiteral("%1 s").arg(ms / 1000, 0, 'f', ms >= 10000 ? 0 : 1);
    if (ms >= 10)
        return QStringLiteral("%1 ms").arg(ms, 0, 'f', 0);
    return QStringLiteral("%1 ms").arg(ms, 0, 'f', 2);
}

QString formatTable(const LadderResult &result)
{
    QStringList lines;
    QString head = QStringLiteral("%1").arg(QString(), -16);
    for (const RungResult &r : result.rungs)
        head += QStringLiteral("%1").arg(rungTitle(r.rung), 22);
    lines << head;
    for (Workload w : kAllWorkloads) {
        QString line = QStringLiteral("%1").arg(workloadTitle(w), -16);
        for (const RungResult &r : result.rungs) {
            const auto ms = r.medianMs[static_cast<int>(w)];
            const auto ratio = result.ratio(r.rung, w);
            QString cell = ms ? formatMs(*ms) : QStringLiteral("—");
            if (ms && ratio && r.rung != Rung::Host)
                cell += QStringLiteral(" (%1)").arg(formatRatio(*ratio));
            line += QStringLiteral("%1").arg(cell, 22);
        }
        lines << line;
    }
    for (const RungResult &r : result.rungs)
        if (!r.skipped.isEmpty())
            lines << QStringLiteral("%1 skipped: %2").arg(rungTitle(r.rung), r.skipped);
    lines << QStringLiteral("measured %1 on %2").arg(result.measured.toLocalTime().toString(Qt::ISODate), result.machine);
    return lines.join(u'\n');
}

Result<void> saveLadder(const QString &dbPath, const LadderResult &result)
{
    return store::setSetting(dbPath, QString::fromLatin1(kNamespace), QString::fromLatin1(kKey),
                             QString::fromUtf8(QJsonDocument(result.toJson()).toJson(QJsonDocument::Compact)));
}

Result<std::optional<LadderResult>> loadLadder(const QString &dbPath)
{
    auto db = store::openForReading(dbPath);
    if (!db)
        return std::unexpected(db.error());
    auto value = store::setting(*db, QString::fromLatin1(kNamespace), QString::fromLatin1(kKey));
    if (!value)
        return std::unexpected(value.error());
    if (!*value)
        return std::optional<LadderResult>();
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(value->value().toUtf8(), &error);
    if (!doc.isObject())
        return fail(ErrorCode::Corrupt, QStringLiteral("the stored ladder result is not JSON: %1").arg(error.errorString()));
    auto parsed = LadderResult::fromJson(doc.object());
    if (!parsed)
        return std::unexpected(parsed.error());
    return std::optional<LadderResult>(*parsed);
}

} // namespace airlock::ladder
