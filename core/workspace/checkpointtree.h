#pragma once

#include "checkpoint.h"

#include <QStringList>

namespace airlock::workspace {

struct CheckpointNode {
    Checkpoint checkpoint;
    int parent = -1;     // index in CheckpointTree::nodes; -1 for a root
    QList<int> children; // oldest first; a fork's base shows as a child of the checkpoint it forked
};

// A session's checkpoint history as a tree, read from the store alone (no shadow repository is
// opened). It covers the session's whole family: the sessions it was forked from, up to the first,
// and every fork of those, so forks show as branches and a fork sees the history it started from.
// Nodes are in event order, which puts every parent before its children.
struct CheckpointTree {
    QString session;               // the one asked for
    QStringList sessions;          // the family, oldest first
    QList<CheckpointNode> nodes;
    QList<int> roots;
    QList<RewindRecord> rewinds;   // every checkpoint.rewound of the family
    QList<FailureRecord> failures; // every checkpoint.failed of the family
    int malformed = 0;             // checkpoint events that could not be read (say, a bad import)

    int find(const QString &session, const QString &commit) const;
    // The newest checkpoint of `session` (-1: none).
    int latest(const QString &session) const;
    // A checkpoint by reference: "latest", a full commit id, or a unique prefix of at least four
    // hex digits; `session`'s own checkpoints win over the family's.
    Result<int> resolve(const QString &ref, const QString &session) const;
    // The path from the root to `node`, both included.
    QList<int> lineage(int node) const;
};

Result<CheckpointTree> loadCheckpointTree(const QString &dbPath, const QString &session);

} // namespace airlock::workspace
