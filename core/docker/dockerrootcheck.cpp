// The never-host-root decision a Docker sandbox makes before its container is created.
#include "docker/dockerbackend.h"

#include "futures.h"

#include <QJsonArray>

namespace airlock::docker {

using sandbox::SandboxState;

namespace {

bool isRootUser(const QString &user)
{
    const QString name = user.section(u':', 0, 0).trimmed();
    return name.isEmpty() || name == u"0" || name == u"root";
}

} // namespace

// Sandboxed code never runs as host uid 0. Root in a container is root on the host's kernel unless the
// daemon maps it to another uid (rootless Docker or podman, userns-remap); without a User in the
// policy the image's own decides, so it is asked for.
void DockerSandbox::createUnlessHostRoot(const QJsonObject &createBody)
{
    const QString user = createBody.value(u"User").toString();
    if (!isRootUser(user)) {
        create(createBody);
        return;
    }
    m_creating = true;
    const auto proceed = [this](const std::function<void()> &next) {
        if (endCreating())
            next();
    };
    airlock::then(client()->info(), this, [this, createBody, user, proceed](const Result<QJsonObject> &info) {
        bool remapped = false;
        for (const QJsonValue &option : info ? info->value(u"SecurityOptions").toArray() : QJsonArray()) {
            const QString text = option.toString();
            remapped = remapped || text.contains(QLatin1String("name=rootless")) || text.contains(QLatin1String("name=userns"));
        }
        if (remapped) {
            proceed([this, createBody] { create(createBody); });
            return;
        }
        if (!user.isEmpty()) {
            proceed([this, user] {
                failWith(Error{ErrorCode::InvalidArgument,
                               QStringLiteral("the policy runs the container as %1, which is root on this host (the daemon does not "
                                              "remap users): sandboxed code never runs as host uid 0; set privileges.uid and gid "
                                              "to an unprivileged user, e.g. 1000:1000")
                                   .arg(user)});
            });
            return;
        }
        m_creating = true;
        airlock::then(client()->inspectImage(m_image), this, [this, createBody, proceed](const Result<QJsonObject> &image) {
            const QString imageUser = image ? image->value(u"Config").toObject().value(u"User").toString() : QString();
            if (image && !isRootUser(imageUser)) {
                proceed([this, createBody] { create(createBody); });
                return;
            }
            proceed([this, image] {
                failWith(Error{ErrorCode::InvalidArgument,
                               image ? QStringLiteral("the image %1 runs as root and the policy names no user, and this daemon does "
                                                      "not remap users: sandboxed code never runs as host uid 0; set privileges.uid "
                                                      "and gid to an unprivileged user, e.g. 1000:1000")
                                           .arg(m_image)
                                     : QStringLiteral("cannot tell which user the image %1 runs as: %2").arg(m_image, image.error().message)});
            });
        });
    });
}

} // namespace airlock::docker
