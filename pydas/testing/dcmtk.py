"""How dcmtk's ``dcm2xml`` (what Midas's dicomextractor runs) names and prints elements.

Data and formatting only; files are read with pydicom. :data:`PRIVATE_KEYWORDS` holds
dcmtk's names of private tags where its dictionary has them (pydicom's private
dictionary describes the same tags in other words); :func:`format_float` prints FL and
FD values as dcmtk does.
"""

import math

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
