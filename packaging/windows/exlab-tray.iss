; Inno Setup 6 script: wraps the PyInstaller bundle into a per-user Windows installer.
; Built by .github/workflows/packages.yml:
;   ISCC.exe /DAppVersion=0.1.0 /DBundleDir=<repo>\packaging\build\dist\exlab-tray
;            /DOutputDir=<repo>\dist packaging\windows\exlab-tray.iss
#ifndef AppVersion
  #error Pass the version: ISCC /DAppVersion=x.y.z
#endif
#ifndef BundleDir
  #define BundleDir "..\build\dist\exlab-tray"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif

[Setup]
AppId={{6C1E2F4A-3B7D-4E59-9A0C-E7A5B1D2C3F4}
AppName=ExLab Tray
AppVersion={#AppVersion}
AppPublisher=ExLab
DefaultDirName={autopf}\ExLab Tray
DisableProgramGroupPage=yes
; Per-user by default (no admin rights needed); IT can still choose all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=exlab-tray-{#AppVersion}-setup
Compression=lzma2/fast
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\exlab-tray.exe
UninstallDisplayName=ExLab Tray
CloseApplications=yes

[Tasks]
Name: "startatlogin"; Description: "Start ExLab Tray when I log in"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\ExLab Tray"; Filename: "{app}\exlab-tray.exe"

[Registry]
; The same value the tray's "Start at login" toggle writes (tray_app/autostart.py).
Root: HKCU; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "ExLab Tray"; ValueData: """{app}\exlab-tray.exe"""; Flags: uninsdeletevalue; Tasks: startatlogin

[Run]
Filename: "{app}\exlab-tray.exe"; Description: "Start ExLab Tray now"; Flags: nowait postinstall skipifsilent
