#pragma once

#include "workspace/checkpointtree.h"

class QTreeWidget;
class QTreeWidgetItem;

// How the Checkpoints dock shows a history: one item per checkpoint, the main line at the top level
// and each branch (a fork, or the line after a rewind) nested under the checkpoint it leaves from.

namespace airlock::ui::checkpoints {

enum Column { WhatColumn, TimeColumn, ChangesColumn, ColumnCount };
enum Role { NodeRole = Qt::UserRole + 1, CommitRole, SessionRole };

// "ab12cd34  after turn 3", with "[session] " in front for another session of the family.
QString describe(const workspace::CheckpointTree &tree, int node, const QString &session);
// "3 files  +10 −2", or "forked from s1".
QString changesText(const workspace::Checkpoint &checkpoint);

// Replaces the view's items; returns the item of (keepSession, keepCommit) when there is one,
// else that of the session's newest checkpoint.
QTreeWidgetItem *fillHistory(QTreeWidget *view, const workspace::CheckpointTree &tree, const QString &session,
                             const QString &keepSession, const QString &keepCommit);

} // namespace airlock::ui::checkpoints
