using ChatOpsPull.Core.Incidents;

namespace ChatOpsPull.Incidents;

/// <summary>
/// Tells every registered <see cref="IIncidentNotifier"/> about a stored change, once. A notifier that throws is logged
/// and the others are still told (chat delivery keeps its own persistent queue, so nothing is lost by moving on).
/// </summary>
public sealed partial class IncidentNotifications(IEnumerable<IIncidentNotifier> notifiers, ILogger<IncidentNotifications> logger)
{
    private readonly IIncidentNotifier[] _notifiers = notifiers.ToArray();

    public async Task PublishAsync(Incident incident, IncidentChange change, string? detail, CancellationToken cancellationToken)
    {
        foreach (var notifier in _notifiers)
        {
            try
            {
                await notifier.IncidentChangedAsync(incident, change, detail, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // one failing notifier must not stop the others; it is logged
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogNotifierFailed(logger, e, notifier.GetType().Name, incident.Id, change);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Notifier {Notifier} failed for incident {IncidentId} ({Change}); the other notifiers were still told")]
    private static partial void LogNotifierFailed(ILogger logger, Exception exception, string notifier, string incidentId, IncidentChange change);
}
