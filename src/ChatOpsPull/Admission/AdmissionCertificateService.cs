using ChatOpsPull.Kubernetes;
using ChatOpsPull.Prevention;
using Microsoft.Extensions.Options;

namespace ChatOpsPull.Admission;

/// <summary>
/// Keeps the admission port's certificate. Files mode: loads the mounted PEM files at start (and
/// <see cref="AdmissionCertificate"/> reloads them when they change). Self-managed mode: makes a CA and a serving
/// certificate for SERVICE.NAMESPACE.svc at start, then every Admission:CaBundleCheckInterval makes sure the CA is in the
/// caBundle of the bot's own ValidatingWebhookConfiguration (<see cref="WebhookCaBundle"/>: each replica adds its own CA;
/// the private keys never leave the process), and renews both a third of their lifetime before they end.
/// </summary>
public sealed partial class AdmissionCertificateService(
    AdmissionCertificate certificate,
    KubernetesConnection connection,
    IOptions<AdmissionOptions> options,
    TimeProvider time,
    ILogger<AdmissionCertificateService> log) : BackgroundService
{
    /// <summary>How long a self-managed CA and certificate are valid.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(365);

    private const string DefaultNamespace = "chatopspull";

    /// <summary>What the last caBundle check found (for tests and the log).</summary>
    public CaBundleOutcome? LastBundleOutcome { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Enabled)
        {
            if (settings.Certificate == AdmissionCertificateSource.Files)
            {
                certificate.LoadFiles();
            }
            else
            {
                certificate.CreateSelfManaged(Names(settings), Lifetime);
            }
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled || settings.Certificate != AdmissionCertificateSource.SelfManaged)
        {
            return;
        }

        if (connection.Client is not { } client)
        {
            LogNoCluster(log, settings.WebhookConfiguration);
            return;
        }

        var bundle = new WebhookCaBundle(client, time);
        while (!stoppingToken.IsCancellationRequested)
        {
            if (certificate.Current is { } current && current.NotAfter.ToUniversalTime() - time.GetUtcNow().UtcDateTime < Lifetime / 3)
            {
                certificate.CreateSelfManaged(Names(settings), Lifetime);
            }

            try
            {
                var outcome = await bundle.EnsureAsync(settings.WebhookConfiguration, certificate.SelfManagedCa!, stoppingToken).ConfigureAwait(false);
                if (outcome != LastBundleOutcome)
                {
                    LogBundle(log, settings.WebhookConfiguration, outcome);
                }

                LastBundleOutcome = outcome;
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogBundleFailed(log, e, settings.WebhookConfiguration);
            }

            try
            {
                await Task.Delay(settings.CaBundleCheckInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>SERVICE.NAMESPACE.svc and .svc.cluster.local, then Admission:CertificateNames.</summary>
    private List<string> Names(AdmissionOptions settings)
    {
        var ns = connection.OwnNamespace ?? DefaultNamespace;
        return [$"{settings.ServiceName}.{ns}.svc", $"{settings.ServiceName}.{ns}.svc.cluster.local", .. settings.CertificateNames.Where(n => n.Length > 0)];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admission: no cluster connection, so the CA cannot be put into webhook configuration {Name}; the API server will not trust the admission port")]
    private static partial void LogNoCluster(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Admission: caBundle of webhook configuration {Name}: {Outcome}")]
    private static partial void LogBundle(ILogger logger, string name, CaBundleOutcome outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admission: the caBundle of webhook configuration {Name} could not be checked; trying again later")]
    private static partial void LogBundleFailed(ILogger logger, Exception exception, string name);
}
