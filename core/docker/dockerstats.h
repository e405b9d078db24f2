#pragma once

#include "error.h"

#include <QDateTime>
#include <QJsonObject>
#include <QMetaType>
#include <QString>

// One resource sample of a container, in the figures `docker stats` shows.

namespace airlock::docker {

struct ContainerStats
{
    QString sandboxId;
    QString containerId;
    QDateTime read;           // when the daemon took the sample (UTC)
    double cpuPercent = -1;   // 100 = one CPU busy; -1 until there are two samples to compare
    quint64 cpuTotalNs = 0;   // for the next sample's delta
    quint64 systemCpuNs = 0;
    int onlineCpus = 0;
    qint64 memoryBytes = -1;  // in use, page cache excluded
    qint64 memoryLimit = -1;
    qint64 pids = -1;
    qint64 pidsLimit = -1;

    QJsonObject toJson() const;
};

// previous: the last sample of the same container, for the CPU delta when the daemon sent none
// (one-shot samples carry an empty precpu_stats).
Result<ContainerStats> parseStats(const QJsonObject &raw, const ContainerStats *previous = nullptr);

} // namespace airlock::docker

Q_DECLARE_METATYPE(airlock::docker::ContainerStats)
