#pragma once

#include "sandbox/backend.h"

#include <QAbstractTableModel>
#include <QPointer>

namespace airlock::sandbox {
class SandboxManager;
}

namespace airlock::ui {

// The live sandboxes of a SandboxManager as a table. Rows are merged as the manager reports them
// (added, changed, removed), so selection and scrolling survive the refresh timer.
class SandboxesModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { Backend, Name, Policy, Lifecycle, State, Limits, Uptime, Processes, Cpu, Memory, ColumnCount };
    enum Role { IdRole = Qt::UserRole + 1, RunningRole };

    explicit SandboxesModel(sandbox::SandboxManager *manager, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    QString idAt(int row) const;
    int rowOf(const QString &id) const;
    const sandbox::SandboxInfo *infoAt(int row) const;

private:
    struct Row {
        sandbox::SandboxInfo info;
        double cpuPercent = -1; // Docker stats; -1: not reported
        qint64 memoryBytes = -1;
        qint64 memoryLimit = -1;
    };
    void add(const QString &id);
    void change(const QString &id);
    void remove(const QString &id);
    void watchStats(sandbox::Backend *backend);
    void readStats(Row &row) const;
    QVariant display(const Row &row, int column) const;
    QString tooltip(const Row &row, int column) const;

    QPointer<sandbox::SandboxManager> m_manager;
    QList<Row> m_rows;
};

} // namespace airlock::ui
