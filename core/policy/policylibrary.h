#pragma once

#include "error.h"
#include "policy/policy.h"

#include <QList>

namespace airlock::store {
class EventStore;
class StoreReader;
} // namespace airlock::store

// Where policies are found by name: versions saved in the store, then the built-in presets. A saved
// policy named like a preset shadows it, so "copy the preset and edit it" keeps the familiar name.
namespace airlock::policy {

struct PolicyEntry {
    QString name;
    int version = 0;      // 0 for a built-in preset that was never saved
    bool builtIn = false;
    QString note;
    qint64 created = 0;
    Policy policy;
};

Result<QList<PolicyEntry>> listPolicies(store::StoreReader &reader);
// version 0: the newest. A stored document that no longer parses is an error naming it.
Result<PolicyEntry> findPolicy(store::StoreReader &reader, const QString &name, int version = 0);
// Saves the policy as the next version under `name` (the key it is found by; the policy's own
// name field is its display name); returns that version.
Result<int> savePolicy(store::EventStore &store, store::StoreReader &reader, const QString &name,
                       const Policy &policy, const QString &note = {});

} // namespace airlock::policy
