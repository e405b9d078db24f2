#include "docker/agentimage.h"
#include "futures.h"

#include "docker/dockerbackend.h"
#include "docker/dockerclient.h"

#include <QFileInfo>
#include <QStandardPaths>

namespace airlock::docker {

namespace {

const QStringList kSystemBin{QStringLiteral("/usr/local/bin"), QStringLiteral("/usr/bin"), QStringLiteral("/bin")};

} // namespace

Result<BaseImageOptions> agentImageOptions()
{
    BaseImageOptions options;
    options.repository = QString::fromLatin1(kAgentImageRepository);
    options.kind = QStringLiteral("agent");
    // Real coreutils, sed and grep rather than busybox's, which some tools' flags outrun; busybox fills
    // in the rest (ps, which, less).
    options.programs = fallbackPrograms();
    for (auto [name, package] : {std::pair{"node", "nodejs"}, std::pair{"bash", "bash"}, std::pair{"git", "git"}}) {
        const QString path = QStandardPaths::findExecutable(QString::fromLatin1(name), kSystemBin);
        if (path.isEmpty())
            return fail(ErrorCode::NotFound, QStringLiteral("the agent image needs %1 from this host, and it is not installed: "
                                                            "sudo apt install %2")
                                                 .arg(QLatin1StringView(name), QLatin1StringView(package)));
        options.programs << path;
    }
    // git's helpers for https remotes, and the templates `git init` copies.
    for (const char *helper : {"/usr/lib/git-core/git-remote-http", "/usr/lib/git-core/git-remote-https"}) {
        if (QFileInfo(QString::fromLatin1(helper)).isExecutable())
            options.programs << QString::fromLatin1(helper);
    }
    for (const char *path : {"/usr/share/git-core/templates", "/etc/ssl/certs/ca-certificates.crt", "/usr/share/ca-certificates",
                             "/etc/ssl/certs"}) {
        if (QFileInfo::exists(QString::fromLatin1(path)))
            options.files << QString::fromLatin1(path);
    }
    return options;
}

bool namesImage(const QString &image, const char *own)
{
    const QString wanted = QString::fromLatin1(own);
    return image == wanted || image.endsWith(u'/' + wanted);
}

bool isOwnImage(const QString &image)
{
    return namesImage(image, kBaseImage) || namesImage(image, kAgentImage);
}

QFuture<Result<QString>> buildOwnImage(DockerClient *client, const QString &image, std::function<void(const QString &)> note)
{
    if (namesImage(image, kAgentImage)) {
        auto options = agentImageOptions();
        if (!options)
            return QtFuture::makeReadyFuture(Result<QString>(std::unexpected(options.error())));
        return buildBaseImage(client, *options, std::move(note));
    }
    if (namesImage(image, kBaseImage))
        return buildBaseImage(client, BaseImageOptions{}, std::move(note));
    return QtFuture::makeReadyFuture(Result<QString>(fail(ErrorCode::InvalidArgument,
                                                          QStringLiteral("%1 is not one of Airlock's own images (%2, %3)")
                                                              .arg(image, QLatin1StringView(kBaseImage), QLatin1StringView(kAgentImage)))));
}

QFuture<Result<void>> DockerBackend::ensureOwnImage(const QString &image, std::function<void(const QString &)> note)
{
    if (!isOwnImage(image))
        return QtFuture::makeReadyFuture(Result<void>());
    auto promise = std::make_shared<QPromise<Result<void>>>();
    promise->start();
    QFuture<Result<void>> future = promise->future();
    auto &waiters = m_imageWaiters[image];
    waiters << promise;
    if (waiters.size() > 1)
        return future; // a build (or the look for one) is under way
    const auto settle = [this, image](const Result<void> &result) {
        const auto waiting = m_imageWaiters.take(image);
        for (const auto &p : waiting) {
            p->addResult(result);
            p->finish();
        }
    };
    airlock::then(m_client->inspectImage(image), this, [this, image, note, settle](const Result<QJsonObject> &found) {
        if (found) {
            settle({});
            return;
        }
        if (found.error().code != ErrorCode::NotFound) {
            settle(std::unexpected(found.error()));
            return;
        }
        if (note)
            note(QStringLiteral("%1 is not on this Docker host; building it from this machine's files (once, no registry needed)").arg(image));
        airlock::then(buildOwnImage(m_client, image, note), this, [settle, image](const Result<QString> &built) {
            if (built)
                settle({});
            else
                settle(fail(built.error().code, QStringLiteral("could not build %1: %2").arg(image, built.error().message)));
        });
    });
    return future;
}

} // namespace airlock::docker
