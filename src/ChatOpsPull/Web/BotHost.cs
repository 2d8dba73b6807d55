using ChatOpsPull.Chat.Outbox;
using ChatOpsPull.Chat.Slack;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Web;

/// <summary>Builds the web host: every capability registers its services and maps its endpoints here.</summary>
public static class BotHost
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        builder.Configuration.AddEnvironmentVariables("CHATOPSPULL__");
        builder.Services.AddBotCore(builder.Configuration);
        builder.Services.AddStorage(builder.Configuration);
        builder.Services.AddChatOutbox();
        builder.Services.AddSlack(builder.Configuration);

        var app = builder.Build();
        app.MapHealth();
        app.MapSlack();
        return app;
    }
}
