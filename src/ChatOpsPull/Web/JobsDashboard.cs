using ChatOpsPull.Jobs;
using Hangfire;

namespace ChatOpsPull.Web;

public static class JobsDashboard
{
    /// <summary>The dashboard at /hangfire, for signed-in local users (or loopback when none are configured).</summary>
    public static IEndpointRouteBuilder MapJobsDashboard(this IEndpointRouteBuilder app)
    {
        app.MapHangfireDashboardWithAuthorizationPolicy(
            LocalLoginServices.Policy,
            JobsServices.DashboardPath,
            new DashboardOptions
            {
                AppPath = "/",
                DashboardTitle = "ChatOpsPull jobs",
                DisplayStorageConnectionString = false,
            });
        return app;
    }
}
