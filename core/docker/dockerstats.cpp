#include "docker/dockerstats.h"

#include <QJsonArray>

namespace airlock::docker {

namespace {

quint64 u64(const QJsonValue &value)
{
    const double d = value.toDouble(-1);
    return d < 0 ? 0 : quint64(d);
}

} // namespace

QJsonObject ContainerStats::toJson() const
{
    QJsonObject o{{QStringLiteral("sandbox"), sandboxId},
                  {QStringLiteral("container"), containerId.left(12)},
                  {QStringLiteral("cpuPercent"), cpuPercent < 0 ? QJsonValue() : QJsonValue(std::round(cpuPercent * 100) / 100)},
                  {QStringLiteral("memoryBytes"), memoryBytes},
                  {QStringLiteral("memoryLimit"), memoryLimit},
                  {QStringLiteral("pids"), pids},
                  {QStringLiteral("pidsLimit"), pidsLimit}};
    if (read.isValid())
        o.insert(QStringLiteral("read"), read.toMSecsSinceEpoch());
    return o;
}

Result<ContainerStats> parseStats(const QJsonObject &raw, const ContainerStats *previous)
{
    const QJsonObject cpu = raw.value(u"cpu_stats").toObject();
    const QJsonObject memory = raw.value(u"memory_stats").toObject();
    if (!raw.contains(u"cpu_stats") && !raw.contains(u"memory_stats"))
        return fail(ErrorCode::Io, QStringLiteral("the Docker daemon sent stats without cpu_stats or memory_stats"));

    ContainerStats s;
    s.containerId = raw.value(u"id").toString();
    s.read = QDateTime::fromString(raw.value(u"read").toString(), Qt::ISODateWithMs);
    if (s.read.isValid() && s.read.date().year() < 2000)
        s.read = {}; // a stopped container reports the zero time
    s.cpuTotalNs = u64(cpu.value(u"cpu_usage").toObject().value(u"total_usage"));
    s.systemCpuNs = u64(cpu.value(u"system_cpu_usage"));
    s.onlineCpus = cpu.value(u"online_cpus").toInt();
    if (s.onlineCpus <= 0)
        s.onlineCpus = int(cpu.value(u"cpu_usage").toObject().value(u"percpu_usage").toArray().size());

    quint64 preTotal = 0;
    quint64 preSystem = 0;
    const QJsonObject pre = raw.value(u"precpu_stats").toObject();
    if (u64(pre.value(u"system_cpu_usage")) > 0) {
        preTotal = u64(pre.value(u"cpu_usage").toObject().value(u"total_usage"));
        preSystem = u64(pre.value(u"system_cpu_usage"));
    } else if (previous && previous->systemCpuNs > 0) {
        preTotal = previous->cpuTotalNs;
        preSystem = previous->systemCpuNs;
    }
    if (preSystem > 0 && s.systemCpuNs > preSystem && s.cpuTotalNs >= preTotal && s.onlineCpus > 0) {
        const double cpuDelta = double(s.cpuTotalNs - preTotal);
        const double systemDelta = double(s.systemCpuNs - preSystem);
        s.cpuPercent = cpuDelta / systemDelta * s.onlineCpus * 100.0;
    }

    if (memory.contains(u"usage")) {
        const QJsonObject stats = memory.value(u"stats").toObject();
        qint64 cache = 0;
        // cgroup v1 total_inactive_file, v2 inactive_file; old daemons reported cache
        for (const char *key : {"total_inactive_file", "inactive_file", "cache"}) {
            if (stats.contains(QLatin1StringView(key))) {
                cache = qint64(u64(stats.value(QLatin1StringView(key))));
                break;
            }
        }
        const qint64 usage = qint64(u64(memory.value(u"usage")));
        s.memoryBytes = std::max<qint64>(0, usage - cache);
        s.memoryLimit = qint64(u64(memory.value(u"limit")));
    }
    const QJsonObject pids = raw.value(u"pids_stats").toObject();
    if (pids.contains(u"current"))
        s.pids = qint64(u64(pids.value(u"current")));
    if (pids.contains(u"limit"))
        s.pidsLimit = qint64(u64(pids.value(u"limit")));
    return s;
}

} // namespace airlock::docker
