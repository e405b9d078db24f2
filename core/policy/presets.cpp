#include "policy/presets.h"

#include "policy/codec.h"

#include <QLoggingCategory>

namespace airlock::policy {

namespace {

Q_LOGGING_CATEGORY(lcPresets, "airlock.policy.presets", QtWarningMsg)

QList<Preset> loadPresets()
{
    QList<Preset> result;
    for (const char *id : {"open", "standard", "hardened", "gvisor"}) {
        const QString name = QString::fromLatin1(id);
        auto policy = loadPolicyFile(QStringLiteral(":/policies/") + name + QStringLiteral(".json"));
        if (!policy) {
            // Only a broken build gets here; the preset tests parse every file.
            qCCritical(lcPresets) << "built-in preset" << name << "is unusable:" << policy.error().message;
            continue;
        }
        result.append({name, std::move(*policy)});
    }
    return result;
}

} // namespace

const QList<Preset> &presets()
{
    static const QList<Preset> cache = loadPresets();
    return cache;
}

std::optional<Policy> findPreset(QStringView id)
{
    for (const Preset &preset : presets()) {
        if (preset.id == id)
            return preset.policy;
    }
    return std::nullopt;
}

} // namespace airlock::policy
