; ReMedia per-user installer (no admin rights): NSIS 3, 64-bit Unicode.
;
;   makensis -DPAYLOAD=dist\ReMedia [-DVERSION=0.1.0] [-DOUTFILE=ReMedia-setup.exe] remedia.nsi
;
; PAYLOAD is the PyInstaller one-folder build (remedia.exe and its _internal folder, see
; README.md). Installs to %LOCALAPPDATA%\Programs\ReMedia and writes, under HKCU only:
;   - the Explorer verbs ReMedia.Sort on folders, folder backgrounds and drives, with the
;     same keys and values `remedia integrate install` writes for a frozen remedia.exe
;     (remedia_tray/integrations/windows.py), so either can remove what the other wrote;
;   - the Run value "ReMedia" (start the tray at login, as `remedia autostart enable`);
;   - the uninstall entry shown in Settings > Apps.
; Silent: Setup.exe /S [/D=path]; Uninstall.exe /S. The uninstaller stops a running tray
; and removes every file and key above plus %LOCALAPPDATA%\ReMedia (settings, cache).

Unicode true
Target amd64-unicode
RequestExecutionLevel user
SetCompressor /SOLID lzma

!ifndef PAYLOAD
  !error "PAYLOAD is not defined: makensis -DPAYLOAD=<PyInstaller dist\ReMedia folder> remedia.nsi"
!endif
!ifndef VERSION
  !define VERSION "0.1.0"
!endif
!ifndef OUTFILE
  !define OUTFILE "ReMedia-${VERSION}-setup.exe"
!endif
; Where PyInstaller 6 puts package data in a one-folder build; remedia_tray finds its icon
; there (integrations.windows.default_icon), and the verbs name the same file.
!ifndef ICON_REL
  !define ICON_REL "_internal\remedia_tray\assets\remedia.ico"
!endif

!define APP "ReMedia"
!define EXE "remedia.exe"
!define LABEL "Sort with ReMedia"
!define VERB "ReMedia.Sort"
!define CLASSES "Software\Classes"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\ReMedia"

!include "FileFunc.nsh"

Name "${APP}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APP}"
ShowInstDetails nevershow
ShowUninstDetails nevershow
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP} installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "MIT licence"

Page components
Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

; One verb: $0 = shell key below Software\Classes, $1 = placeholder Explorer fills in.
; Command as commands.windows_command() writes it: "exe" sort --notify -- "<placeholder>\."
!macro WriteVerb SHELL PLACEHOLDER
  WriteRegStr HKCU "${CLASSES}\${SHELL}\${VERB}" "" "${LABEL}"
  WriteRegStr HKCU "${CLASSES}\${SHELL}\${VERB}" "Icon" "$INSTDIR\${ICON_REL}"
  WriteRegStr HKCU "${CLASSES}\${SHELL}\${VERB}" "MultiSelectModel" "Player"
  WriteRegStr HKCU "${CLASSES}\${SHELL}\${VERB}\command" "" \
    '"$INSTDIR\${EXE}" sort --notify -- "${PLACEHOLDER}\."'
!macroend

Function .onInit
  SetShellVarContext current
FunctionEnd

Function un.onInit
  SetShellVarContext current
FunctionEnd

Section "!${APP}" SecApp
  SectionIn RO
  ; The uninstaller removes $INSTDIR recursively: make sure it is a folder of our own.
  ${GetFileName} "$INSTDIR" $0
  StrCmp $0 "${APP}" +2 0
    StrCpy $INSTDIR "$INSTDIR\${APP}"
  ; An upgrade replaces files the running tray holds open.
  nsExec::Exec 'taskkill /IM ${EXE} /F'
  Pop $0
  SetOutPath "$INSTDIR"
  File /r "${PAYLOAD}\*.*"
  WriteUninstaller "$INSTDIR\Uninstall.exe"
  CreateShortCut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\${EXE}" "tray" "$INSTDIR\${EXE}" 0

  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "The ReMedia authors"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${EXE}"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\Uninstall.exe"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\Uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINST_KEY}" "EstimatedSize" $0
SectionEnd

Section "Explorer menu: ${LABEL}" SecMenu
  !insertmacro WriteVerb "Directory\shell" "%1"
  !insertmacro WriteVerb "Directory\Background\shell" "%V"
  !insertmacro WriteVerb "Drive\shell" "%1"
SectionEnd

Section "Start the tray at login" SecRun
  WriteRegStr HKCU "${RUN_KEY}" "${APP}" '"$INSTDIR\${EXE}" tray'
SectionEnd

Section "Uninstall"
  ; Stop the tray first: Windows keeps a running exe's files locked.
  nsExec::Exec 'taskkill /IM ${EXE} /F'
  Pop $0
  Sleep 500

  DeleteRegKey HKCU "${CLASSES}\Directory\shell\${VERB}"
  DeleteRegKey HKCU "${CLASSES}\Directory\Background\shell\${VERB}"
  DeleteRegKey HKCU "${CLASSES}\Drive\shell\${VERB}"
  DeleteRegValue HKCU "${RUN_KEY}" "${APP}"
  DeleteRegKey HKCU "${UNINST_KEY}"

  Delete "$SMPROGRAMS\${APP}.lnk"
  ; Settings, feature cache, integration manifest (platformdirs: %LOCALAPPDATA%\ReMedia
  ; and %LOCALAPPDATA%\remedia are the same folder on Windows) and the runtime folder.
  RMDir /r "$LOCALAPPDATA\${APP}"
  RMDir /r "$TEMP\${APP}"
  ; Only a folder named ReMedia (the installer enforces that).
  ${GetFileName} "$INSTDIR" $0
  StrCmp $0 "${APP}" 0 +3
    RMDir /r "$INSTDIR"
    Goto +3
  Delete "$INSTDIR\${EXE}"
  Delete "$INSTDIR\Uninstall.exe"
  ; Goto +3 above lands here. Programs\ itself goes only when it is empty.
  RMDir "$LOCALAPPDATA\Programs"
SectionEnd
