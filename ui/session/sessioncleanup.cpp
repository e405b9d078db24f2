#include "sessioncleanup.h"

#include "store/storereader.h"

#include <QCoreApplication>
#include <QLocale>
#include <QMessageBox>
#include <QPushButton>

namespace airlock::ui {

namespace {
QString size(qint64 bytes)
{
    return QLocale().formattedDataSize(bytes, 1, QLocale::DataSizeTraditionalFormat);
}

struct Plan {
    std::optional<session::SessionFootprint> footprint;
    std::optional<QString> blocker;
    Error error;
};
} // namespace

QStringList footprintLines(const session::SessionFootprint &fp)
{
    QStringList lines;
    lines << QCoreApplication::translate("SessionCleanup", "events: %n in the store, %1", nullptr, int(fp.session.eventCount))
                 .arg(size(fp.storeBytes));
    if (!fp.shadowDir.isEmpty())
        lines << QCoreApplication::translate("SessionCleanup", "checkpoints: %1 in %2").arg(size(fp.shadowBytes), fp.shadowDir);
    if (!fp.agentHome.isEmpty())
        lines << QCoreApplication::translate("SessionCleanup", "the agent's kept home: %1 in %2").arg(size(fp.agentHomeBytes), fp.agentHome);
    if (!fp.workspaceCopy.isEmpty())
        lines << QCoreApplication::translate("SessionCleanup", "Airlock's copy of the workspace: %1 in %2")
                     .arg(size(fp.workspaceBytes), fp.workspaceCopy);
    return lines;
}

SessionCleanup::SessionCleanup(const QString &databasePath, std::function<bool(const QString &)> runsHere, QObject *parent)
    : QObject(parent), m_databasePath(databasePath), m_runsHere(std::move(runsHere))
{
    qRegisterMetaType<QHash<QString, SessionsModel::DiskUse>>();
}

void SessionCleanup::refreshDiskUse()
{
    if (m_measuring) {
        m_measureAgain = true;
        return;
    }
    m_measuring = true;
    using Footprints = Result<QHash<QString, session::SessionFootprint>>;
    runInBackground<Footprints>(
        this, [path = m_databasePath] { return session::footprints(path); },
        [this](const Footprints &all) {
            m_measuring = false;
            if (all) {
                QHash<QString, SessionsModel::DiskUse> use;
                for (auto it = all->cbegin(); it != all->cend(); ++it)
                    use.insert(it.key(), {it->total(), footprintLines(*it).join(u'\n')});
                Q_EMIT diskUseMeasured(use);
            }
            if (std::exchange(m_measureAgain, false))
                refreshDiskUse();
        });
}

void SessionCleanup::deleteSession(const QString &id, QWidget *parent)
{
    if (m_runsHere && m_runsHere(id)) {
        Q_EMIT failed(Error{ErrorCode::InvalidArgument, tr("Session %1 is running in this window; stop it before deleting it.").arg(id)});
        return;
    }
    const qint64 self = QCoreApplication::applicationPid();
    runInBackground<Plan>(this, [path = m_databasePath, id, self] {
        Plan plan;
        auto reader = store::StoreReader::open(path);
        if (!reader) {
            plan.error = reader.error();
            return plan;
        }
        auto row = reader->existingSession(id);
        auto all = reader->sessions();
        auto bytes = session::storeBytesOf(path, id);
        if (!row || !all || !bytes) {
            plan.error = !row ? row.error() : !all ? all.error() : bytes.error();
            return plan;
        }
        // This window owns the sessions it started; whether it still runs them is asked above.
        plan.blocker = session::removalBlocker(path, *reader, *row, self);
        plan.footprint = session::footprint(path, *row, *bytes, *all);
        return plan;
    }, [this, id, parent](const Plan &plan) {
        if (!plan.footprint) {
            Q_EMIT failed(plan.error);
            return;
        }
        if (plan.blocker) {
            Q_EMIT failed(Error{ErrorCode::InvalidArgument, tr("Session %1 cannot be deleted: %2.").arg(id, *plan.blocker)});
            return;
        }
        const session::SessionFootprint fp = *plan.footprint;
        QMessageBox box(QMessageBox::Warning, tr("Delete Session"),
                        tr("Delete \"%1\" and free %2?").arg(fp.session.title.isEmpty() ? id : fp.session.title, size(fp.total())),
                        QMessageBox::Cancel, parent);
        box.setObjectName(QStringLiteral("deleteSessionDialog"));
        QString info = tr("This removes:") + QStringLiteral("\n• ") + footprintLines(fp).join(QStringLiteral("\n• "));
        if (!fp.keptWorkspace.isEmpty())
            info += QStringLiteral("\n\n") + tr("The workspace %1 stays (%2).").arg(fp.keptWorkspace, fp.keptWhy);
        info += QStringLiteral("\n\n") + tr("The store keeps a note that the session was deleted. This cannot be undone.");
        box.setInformativeText(info);
        QPushButton *remove = box.addButton(tr("Delete"), QMessageBox::DestructiveRole);
        remove->setObjectName(QStringLiteral("confirmDelete"));
        box.setDefaultButton(qobject_cast<QPushButton *>(box.button(QMessageBox::Cancel)));
        box.exec();
        if (box.clickedButton() != remove)
            return;
        runInBackground<Result<session::RemovalResult>>(this, [path = m_databasePath, fp] {
            return session::removeSession(path, fp, QStringLiteral("deleted in the window"));
        }, [this, id](const Result<session::RemovalResult> &removed) {
            if (!removed) {
                Q_EMIT failed(removed.error());
                return;
            }
            QString summary = tr("Deleted session %1: %2 freed.").arg(id, size(removed->freedBytes));
            if (!removed->problems.isEmpty())
                Q_EMIT failed(Error{ErrorCode::Io, tr("Session %1 is deleted, but some files stay (airlockctl gc tries again): %2")
                                                       .arg(id, removed->problems.join(QStringLiteral("; ")))});
            Q_EMIT sessionDeleted(id, summary);
            refreshDiskUse();
        });
    });
}

} // namespace airlock::ui
