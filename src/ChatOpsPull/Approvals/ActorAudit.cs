using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Incidents;

namespace ChatOpsPull.Approvals;

/// <summary>The audit log's name for an approval policy <see cref="Actor"/> (the system actor is the bot).</summary>
public static class ActorAudit
{
    public static AuditActor ToAuditActor(this Actor actor) => new(actor.Platform == "system" ? "bot" : actor.Platform, actor.Id, actor.Name);
}
