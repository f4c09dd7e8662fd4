"""The DICOM node (pynetdicom, no Qt): a C-STORE/C-ECHO listener that files arriving
instances by study and scores each study once it is complete, and a sender (C-STORE and
C-ECHO SCU) for results."""
