#pragma once

#include "policy/policy.h"

#include <QList>
#include <QString>

#include <optional>

// The built-in policies, shipped as JSON resources under :/policies/<id>.json, from least to most
// isolated: open, standard, hardened, gvisor. Each is a starting point to copy and edit.

namespace airlock::policy {

struct Preset {
    QString id;        // file name without .json; stable, used on the command line
    Policy policy;
};

// All presets in ladder order. Parsed once, on first use.
const QList<Preset> &presets();
std::optional<Policy> findPreset(QStringView id);

} // namespace airlock::policy
