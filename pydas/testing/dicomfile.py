"""Reading (and, for tests, writing) the header of DICOM Part 10 files.

Standard library only. :func:`read_header` reads a file object from the
128-byte preamble and ``DICM`` to the pixel data, without reading the pixel
data or any other bulk value into memory:

* the file meta group (always explicit VR little endian), then the data set
  in the transfer syntax it names: implicit VR little endian, explicit VR
  little or big endian, deflated explicit VR little endian, and the
  encapsulated (compressed pixel data) syntaxes, whose headers are explicit VR
  little endian;
* sequences, of defined or undefined length, are skipped safely (nested items
  and delimiters included), or, with ``nested=True``, the elements of their
  items are reported after the sequence element, in document order;
* reading stops at Pixel Data (7FE0,0010) or at the end of the file.

:func:`extractor_fields` turns a header into the ``(qualifier, value)`` pairs
the Midas ``dicomextractor`` stores as metadata of element ``DICOM``: the
dcmtk keyword of each element with a textual value (binary VRs and empty
values are left out; multiple values are joined with a backslash; FL and FD
numbers are printed as dcmtk does, see :func:`format_float`). Public tags
missing from the built-in dictionary (:data:`KEYWORDS`, the common public
tags) and private tags missing from :data:`PRIVATE_KEYWORDS` (looked up by
private creator) are named ``Unknown``, and private creator elements
``PrivateCreator``, as dcmtk names tags it has no dictionary entry for.
"""

import io
import math
import struct
import zlib

PREAMBLE_LENGTH = 128
MAGIC = b'DICM'
PIXEL_DATA = (0x7FE0, 0x0010)
ITEM = (0xFFFE, 0xE000)
ITEM_DELIMITER = (0xFFFE, 0xE00D)
SEQUENCE_DELIMITER = (0xFFFE, 0xE0DD)
UNDEFINED_LENGTH = 0xFFFFFFFF

IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2'
EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1'
DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99'
EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2'

# VRs whose explicit encoding has 2 reserved bytes and a 4-byte length
_LONG_VRS = {'OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'}
_TEXT_VRS = {'AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM',
             'UC', 'UI', 'UR', 'UT'}
# binary numeric VR -> (struct code, printf format of one value, or the number of
# significant digits of a floating point value, see format_float)
_NUMERIC_VRS = {'US': ('H', '%d'), 'SS': ('h', '%d'), 'UL': ('I', '%d'), 'SL': ('i', '%d'),
                'UV': ('Q', '%d'), 'SV': ('q', '%d'), 'FL': ('f', 9), 'FD': ('d', 17)}
# a textual value longer than this is not worth a metadata field: skip it unread
MAX_VALUE_LENGTH = 64 * 1024
# nesting depth of sequences beyond which the file is refused (corrupt or hostile)
MAX_DEPTH = 32
# a defined-length sequence longer than this is skipped unread even when nested elements
# are wanted (it is read into memory to be parsed)
MAX_SEQUENCE_LENGTH = 16 << 20

# tag (group, element) -> (VR, dcmtk keyword): the common public tags
_DICTIONARY_TEXT = """
00020000 UL FileMetaInformationGroupLength
00020001 OB FileMetaInformationVersion
00020002 UI MediaStorageSOPClassUID
00020003 UI MediaStorageSOPInstanceUID
00020010 UI TransferSyntaxUID
00020012 UI ImplementationClassUID
00020013 SH ImplementationVersionName
00020016 AE SourceApplicationEntityTitle
00080005 CS SpecificCharacterSet
00080008 CS ImageType
00080012 DA InstanceCreationDate
00080013 TM InstanceCreationTime
00080014 UI InstanceCreatorUID
00080016 UI SOPClassUID
00080018 UI SOPInstanceUID
00080020 DA StudyDate
00080021 DA SeriesDate
00080022 DA AcquisitionDate
00080023 DA ContentDate
0008002A DT AcquisitionDateTime
00080030 TM StudyTime
00080031 TM SeriesTime
00080032 TM AcquisitionTime
00080033 TM ContentTime
00080050 SH AccessionNumber
00080060 CS Modality
00080064 CS ConversionType
00080070 LO Manufacturer
00080080 LO InstitutionName
00080081 ST InstitutionAddress
00080090 PN ReferringPhysicianName
00080201 SH TimezoneOffsetFromUTC
00081010 SH StationName
00081030 LO StudyDescription
0008103E LO SeriesDescription
00081040 LO InstitutionalDepartmentName
00081050 PN PerformingPhysicianName
00081060 PN NameOfPhysiciansReadingStudy
00081070 PN OperatorsName
00081090 LO ManufacturerModelName
00082111 ST DerivationDescription
00100010 PN PatientName
00100020 LO PatientID
00100021 LO IssuerOfPatientID
00100022 CS TypeOfPatientID
00100030 DA PatientBirthDate
00100040 CS PatientSex
00101010 AS PatientAge
00101020 DS PatientSize
00101030 DS PatientWeight
00104000 LT PatientComments
00180010 LO ContrastBolusAgent
00180015 CS BodyPartExamined
00180020 CS ScanningSequence
00180021 CS SequenceVariant
00180022 CS ScanOptions
00180023 CS MRAcquisitionType
00180050 DS SliceThickness
00180060 DS KVP
00180080 DS RepetitionTime
00180081 DS EchoTime
00180082 DS InversionTime
00180083 DS NumberOfAverages
00180084 DS ImagingFrequency
00180085 SH ImagedNucleus
00180086 IS EchoNumbers
00180087 DS MagneticFieldStrength
00180088 DS SpacingBetweenSlices
00180090 DS DataCollectionDiameter
00180091 IS EchoTrainLength
00180095 DS PixelBandwidth
00181000 LO DeviceSerialNumber
00181020 LO SoftwareVersions
00181030 LO ProtocolName
00181040 LO ContrastBolusRoute
00181100 DS ReconstructionDiameter
00181110 DS DistanceSourceToDetector
00181111 DS DistanceSourceToPatient
00181120 DS GantryDetectorTilt
00181130 DS TableHeight
00181140 CS RotationDirection
00181150 IS ExposureTime
00181151 IS XRayTubeCurrent
00181152 IS Exposure
00181160 SH FilterType
00181190 DS FocalSpots
00181210 SH ConvolutionKernel
00181250 SH ReceiveCoilName
00181310 US AcquisitionMatrix
00181314 DS FlipAngle
00185100 CS PatientPosition
0020000D UI StudyInstanceUID
0020000E UI SeriesInstanceUID
00200010 SH StudyID
00200011 IS SeriesNumber
00200012 IS AcquisitionNumber
00200013 IS InstanceNumber
00200020 CS PatientOrientation
00200032 DS ImagePositionPatient
00200037 DS ImageOrientationPatient
00200052 UI FrameOfReferenceUID
00200060 CS Laterality
00201040 LO PositionReferenceIndicator
00201041 DS SliceLocation
00204000 LT ImageComments
00280002 US SamplesPerPixel
00280004 CS PhotometricInterpretation
00280006 US PlanarConfiguration
00280008 IS NumberOfFrames
00280010 US Rows
00280011 US Columns
00280030 DS PixelSpacing
00280100 US BitsAllocated
00280101 US BitsStored
00280102 US HighBit
00280103 US PixelRepresentation
00280106 US SmallestImagePixelValue
00280107 US LargestImagePixelValue
00280120 US PixelPaddingValue
00281050 DS WindowCenter
00281051 DS WindowWidth
00281052 DS RescaleIntercept
00281053 DS RescaleSlope
00281054 LO RescaleType
00282110 CS LossyImageCompression
00321060 LO RequestedProcedureDescription
00400244 DA PerformedProcedureStepStartDate
00400245 TM PerformedProcedureStepStartTime
00400253 SH PerformedProcedureStepID
00400254 LO PerformedProcedureStepDescription
7FE00010 OW PixelData
"""


# (group, private creator, element byte) -> dcmtk keyword: the GE private tags of
# CT_small.dcm that dcmtk's private dictionary names. Derived from the recorded metadata
# of that file (transcript 133) aligned with its elements; the names a file cannot show
# (those repeating an earlier name, which Midas keeps once) are left out, except
# (0021,xx05), which must repeat one: it precedes the first Unknown yet adds no name.
_PRIVATE_DICTIONARY_TEXT = """
0009 GEMS_IDEN_01 01 FullFidelity
0009 GEMS_IDEN_01 02 SuiteId
0009 GEMS_IDEN_01 04 ProductId
0009 GEMS_IDEN_01 27 ImageActualDate
0009 GEMS_IDEN_01 E6 GenesisVersionNow
0009 GEMS_IDEN_01 E7 ExamRecordChecksum
0009 GEMS_IDEN_01 E9 ActualSeriesDataTimeStamp
0011 GEMS_PATI_01 10 PatientStatus
0019 GEMS_ACQU_01 02 NumberOfCellsInDetector
0019 GEMS_ACQU_01 03 CellNumberAtTheta
0019 GEMS_ACQU_01 04 CellSpacing
0019 GEMS_ACQU_01 0F HorizontalFrameOfReference
0019 GEMS_ACQU_01 11 SeriesContrast
0019 GEMS_ACQU_01 13 StartNumberForBaseline
0019 GEMS_ACQU_01 14 EndNumberForBaseline
0019 GEMS_ACQU_01 15 StartNumberForEnhancedScans
0019 GEMS_ACQU_01 16 EndNumberForEnhancedScans
0019 GEMS_ACQU_01 17 SeriesPlane
0019 GEMS_ACQU_01 18 FirstScanRAS
0019 GEMS_ACQU_01 19 FirstScanLocation
0019 GEMS_ACQU_01 1A LastScanRAS
0019 GEMS_ACQU_01 1B LastScanLocation
0019 GEMS_ACQU_01 1E DisplayFieldOfView
0019 GEMS_ACQU_01 23 TableSpeed
0019 GEMS_ACQU_01 24 MidScanTime
0019 GEMS_ACQU_01 25 MidScanFlag
0019 GEMS_ACQU_01 26 DegreesOfAzimuth
0019 GEMS_ACQU_01 27 GantryPeriod
0019 GEMS_ACQU_01 2A XrayOnPosition
0019 GEMS_ACQU_01 2B XrayOffPosition
0019 GEMS_ACQU_01 2C NumberOfTriggers
0019 GEMS_ACQU_01 2E AngleOfFirstView
0019 GEMS_ACQU_01 2F TriggerFrequency
0019 GEMS_ACQU_01 39 ScanFOVType
0019 GEMS_ACQU_01 40 StatReconFlag
0019 GEMS_ACQU_01 41 ComputeType
0019 GEMS_ACQU_01 42 SegmentNumber
0019 GEMS_ACQU_01 43 TotalSegmentsRequested
0019 GEMS_ACQU_01 44 InterscanDelay
0019 GEMS_ACQU_01 47 ViewCompressionFactor
0019 GEMS_ACQU_01 4A TotalNumberOfRefChannels
0019 GEMS_ACQU_01 4B DataSizeForScanData
0019 GEMS_ACQU_01 52 ReconPostProcessingFlag
0019 GEMS_ACQU_01 57 CTWaterNumber
0019 GEMS_ACQU_01 58 CTBoneNumber
0019 GEMS_ACQU_01 5E NumberOfChannels1To512
0019 GEMS_ACQU_01 5F IncrementBetweenChannels
0019 GEMS_ACQU_01 60 StartingView
0019 GEMS_ACQU_01 61 NumberOfViews
0019 GEMS_ACQU_01 62 IncrementBetweenViews
0019 GEMS_ACQU_01 6A DependantOnNumberOfViewsProcessed
0019 GEMS_ACQU_01 6B FieldOfViewInDetectorCells
0019 GEMS_ACQU_01 70 ValueOfBackProjectionButton
0019 GEMS_ACQU_01 71 SetIfFatqEstimatesWereUsed
0019 GEMS_ACQU_01 72 ZChannelAvgOverViews
0019 GEMS_ACQU_01 73 AvgOfLeftRefChannelsOverViews
0019 GEMS_ACQU_01 74 MaxLeftChannelOverViews
0019 GEMS_ACQU_01 75 AvgOfRightRefChannelsOverViews
0019 GEMS_ACQU_01 76 MaxRightChannelOverViews
0019 GEMS_ACQU_01 DA ReferenceChannelUsed
0019 GEMS_ACQU_01 DB BackProjectorCoefficient
0019 GEMS_ACQU_01 DC PrimarySpeedCorrectionUsed
0019 GEMS_ACQU_01 DD OverrangeCorrectionUsed
0019 GEMS_ACQU_01 DE DynamicZAlphaValue
0021 GEMS_RELA_01 03 SeriesFromWhichPrescribed
0021 GEMS_RELA_01 05 GenesisVersionNow
0021 GEMS_RELA_01 07 SeriesRecordChecksum
0021 GEMS_RELA_01 19 AcqReconRecordChecksum
0021 GEMS_RELA_01 37 ScreenFormat
0021 GEMS_RELA_01 90 TubeFocalSpotPosition
0021 GEMS_RELA_01 91 BiopsyPosition
0021 GEMS_RELA_01 92 BiopsyTLocation
0021 GEMS_RELA_01 93 BiopsyRefLocation
0023 GEMS_STDY_01 70 StartTimeSecsInFirstAxial
0023 GEMS_STDY_01 74 NumberOfUpdatesToHeader
0023 GEMS_STDY_01 7D IndicatesIfStudyHasCompleteInfo
0025 GEMS_SERS_01 06 LastPulseSequenceUsed
0025 GEMS_SERS_01 07 ImagesInSeries
0025 GEMS_SERS_01 10 LandmarkCounter
0025 GEMS_SERS_01 11 NumberOfAcquisitions
0025 GEMS_SERS_01 17 SeriesCompleteFlag
0025 GEMS_SERS_01 18 NumberOfImagesArchived
0025 GEMS_SERS_01 19 LastImageNumberUsed
0027 GEMS_IMAG_01 06 ImageArchiveFlag
0027 GEMS_IMAG_01 10 ScoutType
0027 GEMS_IMAG_01 1C VmaMamp
0027 GEMS_IMAG_01 1D VmaPhase
0027 GEMS_IMAG_01 1E VmaMod
0027 GEMS_IMAG_01 1F VmaClip
0027 GEMS_IMAG_01 20 SmartScanOnOffFlag
0027 GEMS_IMAG_01 35 PlaneType
0027 GEMS_IMAG_01 40 RASLetterOfImageLocation
0027 GEMS_IMAG_01 41 ImageLocation
0027 GEMS_IMAG_01 42 CenterRCoordOfPlaneImage
0027 GEMS_IMAG_01 43 CenterACoordOfPlaneImage
0027 GEMS_IMAG_01 44 CenterSCoordOfPlaneImage
0027 GEMS_IMAG_01 45 NormalRCoord
0027 GEMS_IMAG_01 46 NormalACoord
0027 GEMS_IMAG_01 47 NormalSCoord
0027 GEMS_IMAG_01 48 RCoordOfTopRightCorner
0027 GEMS_IMAG_01 49 ACoordOfTopRightCorner
0027 GEMS_IMAG_01 4A SCoordOfTopRightCorner
0027 GEMS_IMAG_01 4B RCoordOfBottomRightCorner
0027 GEMS_IMAG_01 4C ACoordOfBottomRightCorner
0027 GEMS_IMAG_01 4D SCoordOfBottomRightCorner
0027 GEMS_IMAG_01 50 TableStartLocation
0027 GEMS_IMAG_01 51 TableEndLocation
0027 GEMS_IMAG_01 52 RASLetterForSideOfImage
0027 GEMS_IMAG_01 53 RASLetterForAnteriorPosterior
0027 GEMS_IMAG_01 54 RASLetterForScoutStartLoc
0027 GEMS_IMAG_01 55 RASLetterForScoutEndLoc
0029 GEMS_IMPS_01 04 LowerRangeOfPixels
0029 GEMS_IMPS_01 26 VersionOfHeaderStructure
0029 GEMS_IMPS_01 34 AdvantageCompOverflow
0029 GEMS_IMPS_01 35 AdvantageCompUnderflow
0043 GEMS_PARM_01 10 WindowValue
0043 GEMS_PARM_01 11 TotalInputViews
0043 GEMS_PARM_01 12 XrayChain
0043 GEMS_PARM_01 13 ReconKernelParameters
0043 GEMS_PARM_01 14 CalibrationParameters
0043 GEMS_PARM_01 15 TotalOutputViews
0043 GEMS_PARM_01 16 NumberOfOverranges
0043 GEMS_PARM_01 17 IBHImageScaleFactors
0043 GEMS_PARM_01 18 BBHCoefficients
0043 GEMS_PARM_01 19 NumberOfBBHChainsToBlend
0043 GEMS_PARM_01 1A StartingChannelNumber
0043 GEMS_PARM_01 1B PPScanParameters
0043 GEMS_PARM_01 1C GEImageIntegrity
0043 GEMS_PARM_01 1D LevelValue
0043 GEMS_PARM_01 1E DeltaStartTime
0043 GEMS_PARM_01 1F MaxOverrangesInAView
0043 GEMS_PARM_01 20 AvgOverrangesAllViews
0043 GEMS_PARM_01 21 CorrectedAfterglowTerms
0043 GEMS_PARM_01 25 ReferenceChannels
0043 GEMS_PARM_01 26 NoViewsRefChannelsBlocked
0043 GEMS_PARM_01 27 ScanPitchRatio
0043 GEMS_PARM_01 2B PrivateScanOptions
0043 GEMS_PARM_01 31 RACoordOfTargetReconCentre
0043 GEMS_PARM_01 40 TriggerOnPosition
0043 GEMS_PARM_01 41 DegreeOfRotation
0043 GEMS_PARM_01 42 DASTriggerSource
0043 GEMS_PARM_01 43 DASFpaGain
0043 GEMS_PARM_01 44 DASOutputSource
0043 GEMS_PARM_01 45 DASAdInput
0043 GEMS_PARM_01 46 DASCalMode
0043 GEMS_PARM_01 47 DASCalFrequency
0043 GEMS_PARM_01 48 DASRegXm
0043 GEMS_PARM_01 49 DASAutoZero
0043 GEMS_PARM_01 4A StartingChannelOfView
0043 GEMS_PARM_01 4B DASXmPattern
0043 GEMS_PARM_01 4C TGGCTriggerMode
0043 GEMS_PARM_01 4D StartScanToXrayOnDelay
0043 GEMS_PARM_01 4E DurationOfXrayOn
"""


def _load_private_dictionary(text):
    dictionary = {}
    for line in text.split('\n'):
        if line:
            group, creator, element, keyword = line.split()
            dictionary[(int(group, 16), creator, int(element, 16))] = keyword
    return dictionary


def _load_dictionary(text):
    dictionary = {}
    for line in text.split('\n'):
        if line:
            tag, vr, keyword = line.split()
            dictionary[(int(tag[:4], 16), int(tag[4:], 16))] = (vr, keyword)
    return dictionary


KEYWORDS = _load_dictionary(_DICTIONARY_TEXT)
PRIVATE_KEYWORDS = _load_private_dictionary(_PRIVATE_DICTIONARY_TEXT)


def format_float(value, precision):
    """A floating point value as dcmtk prints it (``OFStandard::ftoa``, ``%g`` style).

    Like C's ``%.<precision>g`` except for a quirk of dcmtk's digit generation: the zeros
    after the decimal point and the first non-zero digit after them do not count as
    significant (``179.0357971`` with precision 9). dcmtk uses 9 digits for FL and 17
    for FD. The exponent form (tiny or huge values) is C's.
    """
    if math.isnan(value) or math.isinf(value):
        return repr(value)
    sign = '-' if value < 0 else ''
    fraction, integer = math.modf(abs(value))
    digits = []
    while integer:
        remainder, integer = math.modf(integer / 10)
        digits.insert(0, int((remainder + .01) * 10))
    precision = max(precision, 1)
    if len(digits) > precision or (not digits and 0 < fraction < .0001):
        text = '%.*g' % (precision, abs(value))
        return sign + text if float(text) else text
    left = precision - len(digits)
    point = len(digits) or 1
    digits = digits or [0]
    if fraction and left:
        digit = 0
        while not digit:  # leading fraction zeros and the first digit are free
            fraction, digit = math.modf(fraction * 10)
            digits.append(int(digit))
        left -= 1
        while left and fraction:
            fraction, digit = math.modf(fraction * 10)
            digits.append(int(digit))
            left -= 1
    if fraction and math.modf(fraction * 10)[1] > 4:
        position = len(digits) - 1
        while position >= 0 and digits[position] == 9:
            digits[position] = 0
            position -= 1
        if position < 0:
            digits.insert(0, 1)
            point += 1
        else:
            digits[position] += 1
    text = ''.join(map(str, digits[:point]))
    decimals = ''.join(map(str, digits[point:])).rstrip('0')
    if decimals:
        text += '.' + decimals
    return sign + text if any(digits) else text


class DicomError(ValueError):
    """The data is not a DICOM Part 10 file this reader understands."""


class Element(object):
    """One top-level data element of a header.

    :ivar tag: ``(group, element)``
    :ivar vr: the value representation (from the file, or the dictionary)
    :ivar value: the value as text (multiple values joined by ``\\``), or None
        for a binary, sequence or over-long value, which is skipped unread
    :ivar creator: for a private tag, the value of its private creator element
    """

    def __init__(self, tag, vr, value, creator=None):
        self.tag = tag
        self.vr = vr
        self.value = value
        self.creator = creator

    @property
    def keyword(self):
        """The dcmtk keyword of the tag (``Unknown`` if not in the dictionaries)."""
        if self.tag in KEYWORDS:
            return KEYWORDS[self.tag][1]
        if _is_private_creator(self.tag):
            return 'PrivateCreator'
        return PRIVATE_KEYWORDS.get((self.tag[0], self.creator, self.tag[1] & 0xFF),
                                    'Unknown')

    def __repr__(self):
        return '<Element (%04X,%04X) %s %r>' % (self.tag + (self.vr, self.value))


class Header(object):
    """The parsed header: :attr:`transfer_syntax` and :attr:`elements` in file order."""

    def __init__(self, transfer_syntax, elements):
        self.transfer_syntax = transfer_syntax
        self.elements = elements

    def get(self, keyword, default=None):
        """The value of the first element named ``keyword``."""
        for element in self.elements:
            if element.keyword == keyword:
                return element.value
        return default


class _Reader(object):
    """Reads elements from a stream in one transfer syntax."""

    def __init__(self, stream, explicit, little_endian, encoding='latin-1'):
        self.stream = stream
        self.explicit = explicit
        self.endian = '<' if little_endian else '>'
        self.encoding = encoding

    def read_exact(self, count):
        data = self.stream.read(count)
        if len(data) != count:
            raise DicomError('truncated DICOM file')
        return data

    def skip(self, count):
        remaining = count
        while remaining > 0:
            chunk = self.stream.read(min(remaining, 1024 * 1024))
            if not chunk:
                raise DicomError('truncated DICOM file')
            remaining -= len(chunk)

    def read_tag(self):
        """The next tag, or None at the end of the stream."""
        data = self.stream.read(4)
        if not data:
            return None
        if len(data) != 4:
            raise DicomError('truncated DICOM file')
        return struct.unpack(self.endian + 'HH', data)

    def read_vr_and_length(self, tag):
        if tag[0] == 0xFFFE:
            # items and delimiters have no VR in any transfer syntax
            return None, struct.unpack(self.endian + 'I', self.read_exact(4))[0]
        if not self.explicit:
            return _implicit_vr(tag), struct.unpack(self.endian + 'I', self.read_exact(4))[0]
        vr = self.read_exact(2).decode('ascii', 'replace')
        if vr in _LONG_VRS:
            self.read_exact(2)
            return vr, struct.unpack(self.endian + 'I', self.read_exact(4))[0]
        return vr, struct.unpack(self.endian + 'H', self.read_exact(2))[0]

    def read_value(self, vr, length):
        """The value as text, or None (skipped unread) when it is not textual."""
        if vr in _TEXT_VRS and length <= MAX_VALUE_LENGTH:
            text = self.read_exact(length).decode(self.encoding, 'replace')
            return text.strip(' \x00')
        if vr in _NUMERIC_VRS and length <= MAX_VALUE_LENGTH:
            return self._numbers(vr, self.read_exact(length))
        if vr == 'AT' and length <= MAX_VALUE_LENGTH:
            words = struct.unpack('%s%dH' % (self.endian, length // 2), self.read_exact(length))
            return '\\'.join('(%04x,%04x)' % words[i:i + 2] for i in range(0, len(words) - 1, 2))
        self.skip(length)
        return None

    def _numbers(self, vr, data):
        code, form = _NUMERIC_VRS[vr]
        count = len(data) // struct.calcsize(code)
        values = struct.unpack('%s%d%s' % (self.endian, count, code),
                               data[:count * struct.calcsize(code)])
        if isinstance(form, int):
            return '\\'.join(format_float(value, form) for value in values)
        return '\\'.join(form % value for value in values)

    def skip_sequence(self, length, depth):
        """Skip the items of a sequence (or of an undefined-length UN value)."""
        if depth > MAX_DEPTH:
            raise DicomError('DICOM sequences nested too deeply')
        if length != UNDEFINED_LENGTH:
            self.skip(length)
            return
        while True:
            tag = self.read_tag()
            if tag is None:
                raise DicomError('DICOM sequence without delimiter')
            _, item_length = self.read_vr_and_length(tag)
            if tag == SEQUENCE_DELIMITER:
                return
            if tag != ITEM:
                raise DicomError('unexpected tag (%04X,%04X) in a sequence' % tag)
            if item_length == UNDEFINED_LENGTH:
                self.skip_item(depth + 1)
            else:
                self.skip(item_length)

    def skip_item(self, depth):
        """Skip the elements of an undefined-length item, up to its delimiter."""
        while True:
            tag = self.read_tag()
            if tag is None:
                raise DicomError('DICOM item without delimiter')
            vr, length = self.read_vr_and_length(tag)
            if tag == ITEM_DELIMITER:
                return
            if vr == 'SQ' or length == UNDEFINED_LENGTH:
                self.skip_sequence(length, depth + 1)
            else:
                self.skip(length)

    def read_element(self, tag):
        """The element whose tag was just read; sequences are skipped (value None)."""
        return list(self.read_element_tree(tag, nested=False))[0]

    def read_element_tree(self, tag, nested=True, depth=1):
        """Yield the element whose tag was just read then, if it is a sequence and
        ``nested``, the elements of its items in document order (else they are skipped)."""
        vr, length = self.read_vr_and_length(tag)
        if vr == 'UN' and length == UNDEFINED_LENGTH:
            # an undefined-length UN value holds a sequence in implicit VR (PS3.5 6.2.2)
            yield Element(tag, vr, None)
            implicit = _Reader(self.stream, explicit=False, little_endian=True)
            implicit.skip_sequence(length, 1)
        elif vr == 'SQ' or length == UNDEFINED_LENGTH:
            yield Element(tag, vr or 'SQ', None)
            if nested and length <= MAX_SEQUENCE_LENGTH:
                yield from self._sequence_elements(length, depth + 1)
            else:
                self.skip_sequence(length, 1)
        else:
            yield Element(tag, vr, self.read_value(vr, length))

    def _within(self, length):
        """A reader of the next ``length`` bytes (a defined-length sequence or item)."""
        return _Reader(io.BytesIO(self.read_exact(length)), self.explicit, self.endian == '<',
                       self.encoding)

    def _sequence_elements(self, length, depth):
        if depth > MAX_DEPTH:
            raise DicomError('DICOM sequences nested too deeply')
        reader = self if length == UNDEFINED_LENGTH else self._within(length)
        while True:
            tag = reader.read_tag()
            if tag is None and length != UNDEFINED_LENGTH:
                return
            if tag is None:
                raise DicomError('DICOM sequence without delimiter')
            _, item_length = reader.read_vr_and_length(tag)
            if tag == SEQUENCE_DELIMITER:
                return
            if tag != ITEM:
                raise DicomError('unexpected tag (%04X,%04X) in a sequence' % tag)
            if item_length == UNDEFINED_LENGTH:
                yield from reader._item_elements(depth, bounded=False)
            else:
                yield from reader._within(item_length)._item_elements(depth, bounded=True)

    def _item_elements(self, depth, bounded):
        while True:
            tag = self.read_tag()
            if tag is None and bounded:
                return
            if tag is None:
                raise DicomError('DICOM item without delimiter')
            if tag == ITEM_DELIMITER:
                self.read_vr_and_length(tag)
                return
            yield from self.read_element_tree(tag, depth=depth)

    def read_elements(self, nested=False):
        """Yield the elements, up to pixel data or the end of the stream: the top-level
        ones, and with ``nested`` those inside sequences too, in document order."""
        while True:
            tag = self.read_tag()
            if tag is None or tag == PIXEL_DATA:
                return
            yield from self.read_element_tree(tag, nested)


def _implicit_vr(tag):
    """The VR of a tag in an implicit VR data set: from the dictionary, else UN."""
    if tag in KEYWORDS:
        return KEYWORDS[tag][0]
    if tag[1] == 0x0000:
        return 'UL'
    return 'LO' if _is_private_creator(tag) else 'UN'


def _is_private_creator(tag):
    group, element = tag
    return group % 2 == 1 and 0x10 <= element <= 0xFF


class _PeekableStream(object):
    """A stream that can push back the bytes it read too far."""

    def __init__(self, stream):
        self.stream = stream
        self.pending = b''

    def read(self, count=-1):
        if count < 0:
            data, self.pending = self.pending + self.stream.read(), b''
            return data
        data, self.pending = self.pending[:count], self.pending[count:]
        if len(data) < count:
            data += self.stream.read(count - len(data))
        return data

    def unread(self, data):
        self.pending = data + self.pending


def _read_meta(stream):
    """The file meta elements, leaving ``stream`` at the first data set byte."""
    preamble = stream.read(PREAMBLE_LENGTH + len(MAGIC))
    if len(preamble) != PREAMBLE_LENGTH + len(MAGIC) or preamble[PREAMBLE_LENGTH:] != MAGIC:
        raise DicomError('not a DICOM Part 10 file (no DICM prefix)')
    peekable = _PeekableStream(stream)
    reader = _Reader(peekable, explicit=True, little_endian=True)
    elements = []
    while True:
        tag = reader.read_tag()
        if tag is None or tag[0] != 0x0002:
            # the first data set tag: give it back to the data set reader
            peekable.unread(struct.pack('<HH', *tag) if tag else b'')
            return elements, peekable
        elements.append(reader.read_element(tag))


def _character_encoding(specific_character_set):
    """The Python codec of a Specific Character Set value (Latin-1 unless UTF-8)."""
    return 'utf-8' if 'ISO_IR 192' in (specific_character_set or '') else 'latin-1'


def _data_set_reader(stream, transfer_syntax):
    if transfer_syntax == IMPLICIT_VR_LITTLE_ENDIAN:
        return _Reader(stream, explicit=False, little_endian=True)
    if transfer_syntax == EXPLICIT_VR_BIG_ENDIAN:
        return _Reader(stream, explicit=True, little_endian=False)
    if transfer_syntax == DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:
        try:
            inflated = zlib.decompress(stream.read(), -zlib.MAX_WBITS)
        except zlib.error as error:
            raise DicomError('corrupt deflated DICOM data set: %s' % error)
        return _Reader(io.BytesIO(inflated), explicit=True, little_endian=True)
    # every other (encapsulated) transfer syntax is explicit VR little endian
    return _Reader(stream, explicit=True, little_endian=True)


def read_header(stream, nested=False):
    """Read the header of a DICOM Part 10 file, up to its pixel data.

    :param stream: the file, opened in binary mode, at its start
    :param nested: include the elements inside sequences, after their sequence element
        (document order, as ``dcm2xml`` lists them)
    :returns: the transfer syntax and the elements
    :rtype: Header
    :raises DicomError: if the file is not DICOM Part 10 or is damaged
    """
    meta, stream = _read_meta(stream)
    syntax = next((e.value for e in meta if e.tag == (0x0002, 0x0010)), None)
    if not syntax:
        raise DicomError('DICOM file meta information has no transfer syntax')
    reader = _data_set_reader(stream, syntax)
    elements = []
    creators = {}  # (group, block) -> private creator, for the private tags that follow
    for element in reader.read_elements(nested):
        group, number = element.tag
        if element.tag == (0x0008, 0x0005):
            reader.encoding = _character_encoding(element.value)
        elif _is_private_creator(element.tag):
            creators[(group, number)] = element.value
        elif group % 2:
            element.creator = creators.get((group, number >> 8))
        elements.append(element)
    return Header(syntax, meta + elements)


def extractor_fields(header):
    """The ``(qualifier, value)`` pairs the dicomextractor stores, in file order.

    :type header: Header
    :rtype: list
    """
    return [(element.keyword, element.value) for element in header.elements
            if element.value]


# -- writing (test fixtures) --------------------------------------------------

def _pad(value, vr):
    if len(value) % 2:
        value += b'\x00' if vr in ('UI', 'OB', 'UN') else b' '
    return value


def encode_element(tag, vr, value, explicit=True, endian='<'):
    """Encode one data element.

    :param tag: ``(group, element)``
    :param vr: the value representation
    :param value: bytes as stored, or text (encoded as Latin-1), or a number or
        list of numbers for a binary numeric VR
    :rtype: bytes
    """
    if vr in _NUMERIC_VRS:
        numbers = value if isinstance(value, (list, tuple)) else [value]
        value = struct.pack('%s%d%s' % (endian, len(numbers), _NUMERIC_VRS[vr][0]), *numbers)
    elif isinstance(value, str):
        value = value.encode('latin-1')
    value = _pad(value, vr)
    head = struct.pack(endian + 'HH', *tag)
    if not explicit:
        return head + struct.pack(endian + 'I', len(value)) + value
    if vr in _LONG_VRS:
        length = struct.pack(endian + 'I', len(value))
        return head + vr.encode('ascii') + b'\x00\x00' + length + value
    return head + vr.encode('ascii') + struct.pack(endian + 'H', len(value)) + value


def build_dicom(elements, transfer_syntax=EXPLICIT_VR_LITTLE_ENDIAN, pixel_data=b'',
                sop_class='1.2.840.10008.5.1.4.1.1.2', sop_instance='1.2.3.4.5.6.7.8'):
    """A minimal DICOM Part 10 file, for tests and fixtures.

    :param elements: ``(tag, vr, value)`` triples of the data set, in tag order
        (pre-encoded bytes of a sequence may be passed with VR ``SQ``)
    :param transfer_syntax: implicit or explicit VR little endian, or explicit
        VR big endian
    :param pixel_data: the Pixel Data value (OW), appended last
    :rtype: bytes
    """
    explicit = transfer_syntax != IMPLICIT_VR_LITTLE_ENDIAN
    endian = '>' if transfer_syntax == EXPLICIT_VR_BIG_ENDIAN else '<'
    meta = b''.join([
        encode_element((0x0002, 0x0001), 'OB', b'\x00\x01'),
        encode_element((0x0002, 0x0002), 'UI', sop_class),
        encode_element((0x0002, 0x0003), 'UI', sop_instance),
        encode_element((0x0002, 0x0010), 'UI', transfer_syntax),
        encode_element((0x0002, 0x0012), 'UI', '1.2.826.0.1.3680043.9.7433.1'),
        encode_element((0x0002, 0x0013), 'SH', 'PYDAS'),
    ])
    group_length = encode_element((0x0002, 0x0000), 'UL', len(meta))
    data_set = b''.join(encode_element(tag, vr, value, explicit, endian)
                        for tag, vr, value in elements)
    if pixel_data:
        data_set += encode_element(PIXEL_DATA, 'OW', pixel_data, explicit, endian)
    return b'\x00' * PREAMBLE_LENGTH + MAGIC + group_length + meta + data_set
