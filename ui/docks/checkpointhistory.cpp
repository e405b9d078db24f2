#include "checkpointhistory.h"

#include "docktext.h"

#include <QCoreApplication>
#include <QHash>
#include <QTreeWidget>

#include <functional>

namespace airlock::ui::checkpoints {

using namespace airlock::workspace;

namespace {
QString tr(const char *text)
{
    return QCoreApplication::translate("airlock::ui::CheckpointsPanel", text);
}
} // namespace

QString describe(const CheckpointTree &tree, int node, const QString &session)
{
    const Checkpoint &c = tree.nodes.at(node).checkpoint;
    QString text = QStringLiteral("%1  %2").arg(c.shortId(), describeCause(c.cause, c.turn, c.toolCallId));
    if (c.session != session)
        text = QStringLiteral("[%1] ").arg(c.session) + text;
    return text;
}

QString changesText(const Checkpoint &c)
{
    if (c.cause == Cause::Fork)
        return tr("forked from %1").arg(c.fromSession);
    QString s = c.filesTotal == 1 ? tr("1 file") : tr("%1 files").arg(c.filesTotal);
    if (c.linesAdded || c.linesRemoved)
        s += QStringLiteral("  +%1 −%2").arg(c.linesAdded).arg(c.linesRemoved);
    return s;
}

QTreeWidgetItem *fillHistory(QTreeWidget *view, const CheckpointTree &tree, const QString &session,
                             const QString &keepSession, const QString &keepCommit)
{
    view->clear();
    QFont bold = view->font();
    bold.setBold(true);
    const QColor dim = view->palette().color(QPalette::PlaceholderText);
    const int latest = tree.latest(session);
    QTreeWidgetItem *keep = nullptr;
    QTreeWidgetItem *newest = nullptr;
    // The session's rewinds, by the checkpoint they restored (the newest wins).
    QHash<QString, qint64> rewoundTo;
    for (const RewindRecord &r : tree.rewinds)
        if (r.session == session)
            rewoundTo.insert(r.commit, r.time);
    // As `airlockctl checkpoints list`: the first child continues the line, later ones branch off.
    std::function<void(int, QTreeWidgetItem *)> addLine = [&](int node, QTreeWidgetItem *parent) {
        while (node >= 0) {
            const Checkpoint &c = tree.nodes.at(node).checkpoint;
            auto *item = parent ? new QTreeWidgetItem(parent) : new QTreeWidgetItem(view);
            item->setText(WhatColumn, describe(tree, node, session));
            item->setText(TimeColumn, docks::formatTime(c.time));
            item->setText(ChangesColumn, changesText(c));
            item->setData(0, NodeRole, node);
            item->setData(0, CommitRole, c.commit);
            item->setData(0, SessionRole, c.session);
            QStringList tip{tr("Checkpoint %1 of session %2").arg(c.commit, c.session)};
            if (!c.label.isEmpty())
                tip << c.label;
            if (c.skippedTotal)
                tip << tr("%1 not saved (too big or unreadable)").arg(c.skippedTotal == 1 ? tr("1 file") : tr("%1 files").arg(c.skippedTotal));
            if (c.session == session && rewoundTo.contains(c.commit)) {
                const QString when = docks::formatTime(rewoundTo.value(c.commit));
                item->setText(WhatColumn, item->text(WhatColumn) + QStringLiteral("  ⟲ ") + tr("rewound here at %1").arg(when));
                tip << tr("The workspace was rewound to this checkpoint at %1").arg(when);
            }
            item->setToolTip(WhatColumn, tip.join(u'\n'));
            if (c.session != session)
                for (int col = 0; col < ColumnCount; ++col)
                    item->setForeground(col, dim);
            if (node == latest) {
                item->setFont(WhatColumn, bold);
                newest = item;
            }
            if (c.commit == keepCommit && c.session == keepSession)
                keep = item;
            const QList<int> &children = tree.nodes.at(node).children;
            for (int i = 1; i < children.size(); ++i)
                addLine(children.at(i), item);
            node = children.isEmpty() ? -1 : children.first();
        }
    };
    for (int root : std::as_const(tree.roots))
        addLine(root, nullptr);
    view->expandAll();
    return keep ? keep : newest;
}

} // namespace airlock::ui::checkpoints
